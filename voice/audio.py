"""PCM helpers: WAV parsing/writing, resampling, loudness.

All audio inside the voice channel is signed 16-bit little-endian mono PCM
(«slin16»); only the sample rate differs: 8 kHz on the phone line
(AudioSocket), 16 kHz from the browser, 22.05 kHz out of espeak-ng.
"""

from __future__ import annotations

import io
import struct
import wave

import numpy as np

SAMPLE_WIDTH = 2  # bytes per sample (16-bit)


def frame_bytes(rate: int, ms: int) -> int:
    return rate * ms // 1000 * SAMPLE_WIDTH


def duration_ms(pcm: bytes, rate: int) -> float:
    return len(pcm) / SAMPLE_WIDTH / rate * 1000


def parse_wav(data: bytes) -> tuple[bytes, int]:
    """(pcm, rate) of a 16-bit mono WAV. Tolerates the streaming header
    espeak-ng writes to stdout (chunk sizes 0xFFFFFFFF)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    pos, rate, pcm = 12, 0, b""
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt ":
            channels, rate, _, _, bits = struct.unpack("<HIIHH", data[body + 2:body + 16])
            if channels != 1 or bits != 16:
                raise ValueError(f"expected 16-bit mono WAV, got {channels} channel(s), {bits} bits")
        elif chunk == b"data":
            pcm = data[body:body + size] if size != 0xFFFFFFFF else data[body:]
            break
        pos = body + size + (size & 1)
    if not rate:
        raise ValueError("WAV file has no format chunk")
    return pcm[: len(pcm) // 2 * 2], rate


def to_wav(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def _lowpass(x: np.ndarray, cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass; `cutoff` is a fraction of the source rate (< 0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    kernel /= kernel.sum()
    return np.convolve(x, kernel, mode="same")


def resample(pcm: bytes, src: int, dst: int) -> bytes:
    """Resample slin16 from `src` to `dst` Hz (anti-aliased when going down)."""
    if src == dst or not pcm:
        return pcm
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if dst < src:
        x = _lowpass(x, 0.45 * dst / src)
    n_out = int(round(len(x) * dst / src))
    positions = np.arange(n_out) * (src / dst)
    y = np.interp(positions, np.arange(len(x)), x)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def rms(pcm: bytes) -> float:
    if len(pcm) < SAMPLE_WIDTH:
        return 0.0
    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x)))


def silence(ms: int, rate: int) -> bytes:
    return bytes(frame_bytes(rate, ms))
