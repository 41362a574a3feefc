"""PCM helpers: WAV parsing/writing, resampling, loudness.

All audio inside the voice channel is signed 16-bit little-endian mono PCM
(«slin16»); only the sample rate differs: 8 kHz on the phone line
(AudioSocket), 16 kHz from the browser, 16–24 kHz out of the synthesizers.
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
    """(slin16 mono pcm, rate) of a WAV file: PCM of 8/16/24/32 bits or 32-bit float, any number of
    channels (mixed down). Tolerates the streaming header synthesizers write to stdout (sizes 0xFFFFFFFF)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    pos, rate, pcm, fmt = 12, 0, b"", (1, 1, 16)
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body : body + 16])
            if tag == 0xFFFE and size >= 40:  # WAVE_FORMAT_EXTENSIBLE: the real tag starts the sub-format GUID
                tag = struct.unpack("<H", data[body + 24 : body + 26])[0]
            fmt = (tag, channels, bits)
        elif chunk == b"data":
            pcm = data[body : body + size] if size < 0x7F000000 else data[body:]
            break
        pos = body + size + (size & 1)
    if not rate:
        raise ValueError("WAV file has no format chunk")
    return _to_slin16_mono(pcm, *fmt), rate


def _to_slin16_mono(raw: bytes, tag: int, channels: int, bits: int) -> bytes:
    if (tag, channels, bits) == (1, 1, 16):
        return raw[: len(raw) // 2 * 2]
    width = bits // 8
    frame = width * channels
    raw = raw[: len(raw) // frame * frame]
    if tag == 3 and bits == 32:
        x = np.frombuffer(raw, dtype="<f4").astype(np.float64) * 32768.0
    elif tag == 1 and bits == 8:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif tag == 1 and bits == 16:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    elif tag == 1 and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float64) / 256.0
    elif tag == 1 and bits == 32:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    else:
        raise ValueError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    x = x.reshape(-1, channels).mean(axis=1)
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def read_audio(data: bytes) -> tuple[bytes, int]:
    """(slin16 mono pcm, rate) of a recording: WAV read here, anything else (OGG/Opus voice
    messages, MP3, M4A…) decoded by FFmpeg's libraries through PyAV (a faster-whisper dependency)."""
    if data[:4] == b"RIFF":
        return parse_wav(data)
    import io

    import av

    rate = 16000
    out = bytearray()
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        assert isinstance(container, av.container.InputContainer)  # opened for reading
        for frame in container.decode(audio=0):
            for piece in resampler.resample(frame):
                out += piece.to_ndarray().tobytes()
        for piece in resampler.resample(None):
            out += piece.to_ndarray().tobytes()
    return bytes(out), rate


def to_wav(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def _kernel(cutoff: float, taps: int) -> np.ndarray:
    """Windowed-sinc low-pass taps; `cutoff` is a fraction of the source rate (< 0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return kernel / kernel.sum()


def _lowpass(x: np.ndarray, cutoff: float, taps: int = 63) -> np.ndarray:
    return np.convolve(x, _kernel(cutoff, taps), mode="same")


def resample(pcm: bytes, src: int, dst: int) -> bytes:
    """Resample slin16 from `src` to `dst` Hz (anti-aliased when going down)."""
    if src == dst or not pcm:
        return pcm
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if dst < src:
        x = _lowpass(x, 0.45 * dst / src)
    n_out = round(len(x) * dst / src)
    positions = np.arange(n_out) * (src / dst)
    y = np.interp(positions, np.arange(len(x)), x)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


class StreamResampler:
    """`resample` for audio that arrives in pieces (a call's frames). Resampling each piece
    alone puts a seam at every boundary (the interpolation cannot see the next sample, the
    filter restarts), and Whisper hears those every 60 ms: the same call chunked differently
    was transcribed differently. Here the interpolation and the low-pass carry over from
    piece to piece, so the output does not depend on how the stream was cut (the low-pass,
    used going down only, is causal: it delays the audio by half its length)."""

    def __init__(self, src: int, dst: int, taps: int = 63):
        self.step = src / dst
        self._kernel = _kernel(0.45 * dst / src, taps) if dst < src else None
        self._history = np.zeros(taps - 1)  # the filter's last inputs
        self._last = np.zeros(0)  # the last filtered sample: where the next interpolation starts
        self._position = 0.0  # the next output's position, in samples from `_last`
        self._odd = b""

    def feed(self, pcm: bytes) -> np.ndarray:
        """The piece's output samples (int16 scale, as float64)."""
        pcm = self._odd + pcm
        whole = len(pcm) // SAMPLE_WIDTH * SAMPLE_WIDTH
        pcm, self._odd = pcm[:whole], pcm[whole:]  # a sample split between pieces is kept for the next
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        if self.step == 1.0 or len(x) == 0:
            return x
        if self._kernel is not None:
            both = np.concatenate([self._history, x])
            self._history = both[len(both) - len(self._history) :]
            x = np.convolve(both, self._kernel, mode="valid")
        buffer = np.concatenate([self._last, x])
        end = len(buffer) - 1
        count = int(np.floor((end - self._position) / self.step)) + 1 if end >= self._position else 0
        positions = self._position + np.arange(count) * self.step
        y = np.interp(positions, np.arange(len(buffer)), buffer)
        self._position += count * self.step - end
        self._last = buffer[end:]
        return np.clip(np.round(y), -32768, 32767)


def rms(pcm: bytes) -> float:
    if len(pcm) < SAMPLE_WIDTH:
        return 0.0
    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x)))


def silence(ms: int, rate: int) -> bytes:
    return bytes(frame_bytes(rate, ms))
