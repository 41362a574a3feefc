"""Speech synthesis behind one small interface, with a disk cache.

`EspeakSynthesizer` runs Debian's espeak-ng (22.05 kHz WAV on stdout) and
resamples to the line's rate. Prompts repeat a lot (greeting, menus), so the
raw WAV of each (voice, speed, text) is cached under data_dir/voice-cache and
the resampled PCM in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from .audio import parse_wav, resample

log = logging.getLogger("voice.synthesizer")


class SynthesisError(RuntimeError):
    pass


class Synthesizer(Protocol):
    voice: str

    def available(self) -> bool: ...

    async def synthesize(self, text: str, rate: int) -> bytes:
        """slin16 mono PCM of `text` at `rate` Hz."""
        ...


class EspeakSynthesizer:
    def __init__(self, cache_dir: Path, voice: str = "ru", speed: int = 165, binary: str = "espeak-ng",
                 memory_items: int = 256):
        self.voice, self.speed, self.binary = voice, speed, binary
        self.cache_dir = Path(cache_dir)
        self._memory: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._memory_items = memory_items
        self.calls = 0  # how many times espeak-ng actually ran (the cache tests read it)

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def cache_path(self, text: str) -> Path:
        key = hashlib.sha256(f"{self.binary}|{self.voice}|{self.speed}|{text}".encode()).hexdigest()[:40]
        return self.cache_dir / f"{key}.wav"

    async def synthesize(self, text: str, rate: int) -> bytes:
        text = " ".join(text.split())
        if not text:
            return b""
        cached = self._memory.get((text, rate))
        if cached is not None:
            self._memory.move_to_end((text, rate))
            return cached
        wav = await self._wav(text)
        pcm, src = parse_wav(wav)
        pcm = resample(pcm, src, rate)
        self._memory[(text, rate)] = pcm
        if len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)
        return pcm

    async def _wav(self, text: str) -> bytes:
        path = self.cache_path(text)
        if path.exists():
            return path.read_bytes()
        try:
            proc = await asyncio.create_subprocess_exec(
                self.binary, "-v", self.voice, "-s", str(self.speed), "--stdout", "--", text,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except FileNotFoundError as exc:
            raise SynthesisError(f"{self.binary} is not installed") from exc
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:  # barge-in or hang-up mid-synthesis: reap the process
            proc.kill()
            await proc.wait()
            raise
        self.calls += 1
        if proc.returncode != 0 or not out:
            raise SynthesisError(f"{self.binary} failed ({proc.returncode}): {err.decode(errors='replace')[:200]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(out)
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        return out
