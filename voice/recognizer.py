"""Speech recognisers behind one interface, and the Vosk (Kaldi) one.

Every recogniser is a `SpeechModel`: loaded once, it lends each call a
`Stream` (`recognizer(rate, end_silence_ms)`) that takes PCM as it arrives
and reports partial results (the caller started speaking: barge-in) and
final ones (an utterance), and it transcribes whole recordings
(`transcribe(pcm, rate)`: voice messages, `python -m voice.transcribe`).
Two exist: Vosk (below: streaming, optional grammar, the production choice
where a Russian Vosk model is installed) and Whisper (whisper.py: utterances
cut by VAD). `open_model` picks one from the settings.

Vosk:

`SpeechModel` loads a Vosk model once (a small model ~1–2 s, a large one
longer, hundreds of MB) and lends out recognisers: the first chunks of a new
`KaldiRecognizer` are slow, so finished calls return theirs to a pool.

`StreamingRecognizer.feed()` takes PCM as it arrives and reports partial
results (the caller started speaking: barge-in) and final results (the end
of an utterance). The end of an utterance is whichever comes first: Vosk's
own endpointer (≥ 0.5 s of trailing silence in the model's config) or ours —
`end_silence_ms` of quiet audio after some recognised speech — which keeps
the pause before the assistant answers short.

An optional grammar (a list of phrases) restricts recognition; tests use
it with the Korean model, a deployment may use it for a keypad-like menu.
Feed calls are CPU-bound: run them in a worker thread.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from .audio import SAMPLE_WIDTH, rms
from .speech_text import heard_text

log = logging.getLogger("voice.recognizer")

SPEECH_RMS = 300.0  # slin16 level above which a 20 ms frame counts as sound


@dataclass(frozen=True)
class Recognition:
    text: str
    final: bool
    confidence: float = 1.0  # mean word confidence of a final result, 0..1


class Stream(Protocol):
    def feed(self, pcm: bytes) -> list[Recognition]:
        """Accept audio; return the partial/final results it produced (in order). CPU-bound: call in a thread."""
        ...

    def close(self) -> None: ...


class SpeechModel(Protocol):
    engine: str  # "vosk" | "whisper"
    name: str  # for logs and the launcher banner
    path: str

    def recognizer(self, rate: int, end_silence_ms: int = 400) -> Stream: ...

    def transcribe(self, pcm: bytes, rate: int) -> str:
        """The text of a whole recording (slin16 mono at `rate`)."""
        ...


class VoskModel:
    engine = "vosk"

    def __init__(self, path: str, grammar: list[str] | None = None):
        import vosk  # imported here: the app starts (voice off) even without the library

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.path = path
        self.grammar = grammar or None
        self.model = vosk.Model(path)
        self.name = f"Vosk ({path.rstrip('/').rsplit('/', 1)[-1]})"
        self._pool: dict[int, list] = {}
        self._lock = threading.Lock()

    def transcribe(self, pcm: bytes, rate: int) -> str:
        stream = self.recognizer(rate)
        try:
            texts = [r.text for r in stream.feed(pcm) if r.final]
            final = stream._final(stream._kaldi.FinalResult())
            return " ".join(texts + ([final.text] if final else []))
        finally:
            stream.close()

    def recognizer(self, rate: int, end_silence_ms: int = 400) -> StreamingRecognizer:
        with self._lock:
            pooled = self._pool.get(rate)
            kaldi = pooled.pop() if pooled else None
        if kaldi is None:
            if self.grammar:
                # ensure_ascii=False: Vosk looks words up as UTF-8; \uXXXX escapes are "missing".
                kaldi = self._vosk.KaldiRecognizer(self.model, rate, json.dumps(self.grammar, ensure_ascii=False))
            else:
                kaldi = self._vosk.KaldiRecognizer(self.model, rate)
            kaldi.SetWords(True)
        return StreamingRecognizer(self, kaldi, rate, end_silence_ms)

    def release(self, kaldi, rate: int) -> None:
        kaldi.Reset()
        with self._lock:
            self._pool.setdefault(rate, []).append(kaldi)


class StreamingRecognizer:
    def __init__(self, model: VoskModel | None, kaldi, rate: int, end_silence_ms: int):
        self._model, self._kaldi, self.rate = model, kaldi, rate
        self.end_silence_ms = end_silence_ms
        self._partial = ""
        self._quiet_ms = 0.0
        self._closed = False

    def feed(self, pcm: bytes) -> list[Recognition]:
        """Accept audio; return the partial/final results it produced (in order)."""
        if self._closed or not pcm:
            return []
        out: list[Recognition] = []
        self._track_quiet(pcm)
        if self._kaldi.AcceptWaveform(pcm):
            final = self._final(self._kaldi.Result())
            if final:
                out.append(final)
            return out
        partial = json.loads(self._kaldi.PartialResult()).get("partial", "").strip()
        if partial and partial != self._partial:
            self._partial = partial
            out.append(Recognition(partial, final=False))
        if self._partial and self._quiet_ms >= self.end_silence_ms:
            final = self._final(self._kaldi.FinalResult())
            if final:
                out.append(final)
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._model is not None:
            self._model.release(self._kaldi, self.rate)

    def _track_quiet(self, pcm: bytes) -> None:
        step = self.rate // 50 * SAMPLE_WIDTH  # 20 ms
        for i in range(0, len(pcm), step):
            frame = pcm[i : i + step]
            if rms(frame) >= SPEECH_RMS:
                self._quiet_ms = 0.0
            else:
                self._quiet_ms += len(frame) / SAMPLE_WIDTH / self.rate * 1000

    def _final(self, raw: str) -> Recognition | None:
        self._partial = ""
        self._quiet_ms = 0.0
        result = json.loads(raw)
        text = result.get("text", "").strip()
        if not text:
            return None
        words = result.get("result") or []
        confidence = sum(w.get("conf", 1.0) for w in words) / len(words) if words else 1.0
        return Recognition(heard_text(text), final=True, confidence=round(confidence, 3))


# ------------------------------------------------------------ choosing one
@dataclass(frozen=True)
class Choice:
    engine: str  # "vosk" | "whisper" | "" (none: keypad only)
    path: str = ""
    why_none: str = ""  # for the log and the banner, when engine is ""


def choose(settings) -> Choice:
    """Which recogniser the settings ask for (nothing is loaded here)."""
    from . import texts
    from .whisper import packaged_installed

    wanted = settings.voice_recognizer
    if wanted == "off":
        return Choice("", why_none=texts.ADMIN_OFF)
    if wanted == "vosk" or (wanted == "auto" and settings.vosk_model_path):
        return Choice("vosk", settings.vosk_model_path)
    if settings.whisper_model_path or packaged_installed():
        return Choice("whisper", settings.whisper_model_path)
    return Choice("", why_none=texts.ADMIN_NO_RECOGNIZER)


def open_model(choice: Choice, settings, grammar: list[str] | None = None) -> SpeechModel:
    """Load the chosen recogniser (seconds, hundreds of MB: call in a thread). Raises if it cannot."""
    if choice.engine == "vosk":
        if not choice.path:
            raise FileNotFoundError("VOSK_MODEL_PATH is empty")
        return VoskModel(choice.path, grammar)
    from .whisper import WhisperSpeechModel

    return WhisperSpeechModel(choice.path, beam_size=settings.whisper_beam_size, threads=settings.whisper_threads)
