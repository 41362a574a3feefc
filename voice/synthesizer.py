"""Speech synthesis behind one small interface, with a disk cache.

Three Russian synthesizers, best first (`choose` picks the first installed,
or the one VOICE_TTS names):

- RHVoice (Debian non-free: `rhvoice rhvoice-russian`, 14 voices, 24 kHz):
  natural, ~0.1 s a sentence; run once per sentence (`RHVoice-test`).
- Festival with `festvox-ru` (Debian main, 16 kHz): intelligible; one
  Festival process is kept running (loading the voice takes a second).
- espeak-ng (Debian main, 22.05 kHz): always there, but robotic — the last resort.

Text goes through `speech_text.for_speech` first (numbers, sums, dates,
phone numbers and abbreviations in words). Prompts repeat a lot (greeting,
menus, answers), so each engine's raw WAV of a sentence is cached under
data_dir/voice-cache, and the PCM resampled for a line in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from .audio import parse_wav, resample
from .speech_text import for_speech

log = logging.getLogger("voice.synthesizer")


class SynthesisError(RuntimeError):
    pass


class Synthesizer(Protocol):
    engine: str  # "rhvoice" | "festival" | "espeak"
    voice: str

    def available(self) -> bool: ...

    async def synthesize(self, text: str, rate: int) -> bytes:
        """slin16 mono PCM of `text` at `rate` Hz."""
        ...


class CachedSynthesizer:
    """The cache and the plumbing; an engine implements `_wav(text)`."""

    engine = ""
    binary = ""
    default_voice = ""

    def __init__(self, cache_dir: Path, voice: str = "", memory_items: int = 256):
        self.voice = voice or self.default_voice
        self.cache_dir = Path(cache_dir)
        self._memory: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._memory_items = memory_items
        self.calls = 0  # how many times the engine actually ran (the cache tests read it)

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def _variant(self) -> str:
        """What else changes the sound (a speed, …): part of the cache key."""
        return ""

    def cache_path(self, text: str) -> Path:
        spoken = for_speech(" ".join(text.split()))
        key = hashlib.sha256(f"{self.engine}|{self.voice}|{self._variant()}|{spoken}".encode()).hexdigest()[:40]
        return self.cache_dir / f"{key}.wav"

    async def synthesize(self, text: str, rate: int) -> bytes:
        text = " ".join(text.split())
        if not text:
            return b""
        cached = self._memory.get((text, rate))
        if cached is not None:
            self._memory.move_to_end((text, rate))
            return cached
        path = self.cache_path(text)
        if path.exists():
            wav = path.read_bytes()
        else:
            # shielded: a barge-in does not waste the work, the sentence is cached for next time
            wav = await asyncio.shield(self._render(for_speech(text), path))
        pcm, src = parse_wav(wav)
        pcm = resample(pcm, src, rate)
        self._memory[(text, rate)] = pcm
        if len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)
        return pcm

    async def _render(self, spoken: str, path: Path) -> bytes:
        wav = await self._wav(spoken)
        self.calls += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{id(wav)}.tmp")
        tmp.write_bytes(wav)
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        return wav

    async def _wav(self, text: str) -> bytes:
        raise NotImplementedError

    async def _run(self, *args: str, stdin: bytes | None = None) -> bytes:
        """Run the engine's command; its WAV comes on stdout."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise SynthesisError(f"{args[0]} is not installed") from exc
        out, err = await proc.communicate(stdin)
        if proc.returncode != 0 or len(out) <= 44:
            raise SynthesisError(f"{args[0]} failed ({proc.returncode}): {err.decode(errors='replace')[:200]}")
        return out


class EspeakSynthesizer(CachedSynthesizer):
    engine, binary, default_voice = "espeak", "espeak-ng", "ru"

    def __init__(self, cache_dir: Path, voice: str = "", speed: int = 165, memory_items: int = 256):
        super().__init__(cache_dir, voice, memory_items)
        self.speed = speed

    def _variant(self) -> str:
        return str(self.speed)

    async def _wav(self, text: str) -> bytes:
        return await self._run(self.binary, "-v", self.voice, "-s", str(self.speed), "--stdout", "--", text)


class RHVoiceSynthesizer(CachedSynthesizer):
    engine, binary, default_voice = "rhvoice", "RHVoice-test", "anna"

    async def _wav(self, text: str) -> bytes:
        return await self._run(self.binary, "-p", self.voice, "-o", "-", stdin=text.encode("utf-8"))


_FESTIVAL_UNSAYABLE = re.compile(r"[^А-Яа-яЁё0-9 .,!?;:\-—]")  # its Russian letter-to-sound rules stop on the rest


class FestivalSynthesizer(CachedSynthesizer):
    """One `festival --pipe` process, fed Scheme one sentence at a time."""

    engine, binary, default_voice = "festival", "festival", "msu_ru_nsh_clunits"
    DONE = "synthesized"

    def __init__(self, cache_dir: Path, voice: str = "", memory_items: int = 256):
        super().__init__(cache_dir, voice, memory_items)
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._serial = 0

    def available(self) -> bool:
        return super().available() and any(
            Path(root, self.voice).is_dir()
            for root in ("/usr/share/festival/voices/russian", "/usr/share/festival/voices/ru")
        )

    async def _process(self) -> asyncio.subprocess.Process:
        if self._proc is None or self._proc.returncode is not None:
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    self.binary,
                    "--pipe",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            except FileNotFoundError as exc:
                raise SynthesisError("festival is not installed") from exc
            _stdin(self._proc).write(f"(voice_{self.voice})\n".encode())
        return self._proc

    async def _wav(self, text: str) -> bytes:
        text = " ".join(_FESTIVAL_UNSAYABLE.sub(" ", text).split())
        text = re.sub(r"\s+[—-]\s+", ", ", text)  # a free-standing dash or dot is a «word» it cannot say
        text = re.sub(r"\s+([.,!?;:])", r"\1", text)
        text = " ".join(re.sub(r"(?<!\w)[.,!?;:]+", "", text).split()).strip(" -—")  # punctuation with no word
        if not text:
            raise SynthesisError("nothing Festival can say")
        async with self._lock:
            self._serial += 1
            marker = f"{self.DONE}-{self._serial}"
            with tempfile.TemporaryDirectory(prefix="festival-") as tmp:
                out = Path(tmp) / "out.wav"
                proc = await self._process()
                _stdin(proc).write(
                    f'(utt.save.wave (utt.synth (Utterance Text "{text}")) "{out}" \'riff)\n'
                    f'(format stderr "{marker}\\n")\n'.encode()
                )
                try:
                    await _stdin(proc).drain()
                    await asyncio.wait_for(self._until(proc, marker), 30)
                except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as exc:
                    proc.kill()
                    self._proc = None
                    raise SynthesisError(f"festival did not answer: {exc.__class__.__name__}") from exc
                if not out.exists():
                    raise SynthesisError("festival could not say this sentence")
                return out.read_bytes()

    @staticmethod
    async def _until(proc: asyncio.subprocess.Process, marker: str) -> None:
        while True:
            assert proc.stderr is not None  # started with stderr=PIPE
            line = await proc.stderr.readline()
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            if line.decode("utf-8", errors="replace").strip() == marker:
                return

    async def close(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()


ENGINES: dict[str, type[CachedSynthesizer]] = {
    "rhvoice": RHVoiceSynthesizer,
    "festival": FestivalSynthesizer,
    "espeak": EspeakSynthesizer,
}


def choose(cache_dir: Path, engine: str = "auto", voice: str = "", speed: int = 165) -> CachedSynthesizer:
    """The synthesizer VOICE_TTS names, or the best one installed (espeak-ng when none is)."""

    def make(name: str) -> CachedSynthesizer:
        if name == "espeak":
            return EspeakSynthesizer(cache_dir, voice, speed)
        return ENGINES[name](cache_dir, voice)

    if engine != "auto":
        return make(engine)
    for name in ENGINES:
        candidate = make(name)
        if candidate.available():
            return candidate
    return make("espeak")


def _stdin(proc: asyncio.subprocess.Process) -> asyncio.StreamWriter:
    assert proc.stdin is not None  # started with stdin=PIPE
    return proc.stdin
