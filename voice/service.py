"""The voice line's shared parts: the speech model, the synthesizer, the desk,
the live calls — and whether voice is on at all (and, if not, why)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.consent.documents import documents
from bot.consent.ledger import Ledger, record_personal_data_consent

from . import texts
from .desk import DefaultDesk, OperatorDesk
from .recognizer import SpeechModel, StreamingRecognizer
from .render import speakable
from .session import CallContext
from .synthesizer import EspeakSynthesizer, Synthesizer

if TYPE_CHECKING:
    from bot.runtime import Runtime

    from .call import Call

log = logging.getLogger("voice.service")

CALLBACK_PURPOSE = "callback"  # the personal-data purpose in the consent ledger (as the chat's callback flow)


@dataclass(frozen=True)
class Status:
    on: bool
    message: str  # for the caller, Russian
    admin_hint: str = ""  # for whoever runs the assistant, Russian


def parse_grammar(raw: str) -> list[str] | None:
    """VOICE_GRAMMAR: a JSON list of phrases, or phrases separated by «|»."""
    raw = raw.strip()
    if not raw:
        return None
    if raw.startswith("["):
        phrases = json.loads(raw)
    else:
        phrases = raw.split("|")
    return [p.strip() for p in phrases if str(p).strip()] or None


class VoiceService:
    def __init__(self, runtime: "Runtime", *, model_path: str | None = None, grammar: list[str] | None = None,
                 synthesizer: Synthesizer | None = None, desk: OperatorDesk | None = None, pace: bool = True,
                 silence_seconds: float | None = None, min_confidence: float | None = None,
                 end_silence_ms: int | None = None, model: SpeechModel | None = None):
        s = runtime.settings
        self.runtime = runtime
        self.model_path = model.path if model else s.vosk_model_path if model_path is None else model_path
        self.grammar = parse_grammar(s.voice_grammar) if grammar is None else grammar
        self.synthesizer: Synthesizer = synthesizer or EspeakSynthesizer(
            s.data_dir / "voice-cache", voice=s.voice_tts_voice, speed=s.voice_tts_speed)
        self.desk: OperatorDesk = desk or DefaultDesk(runtime.redis)
        self.pace = pace  # False only in tests: audio is sent as fast as it is made
        self.silence_seconds = s.voice_silence_seconds if silence_seconds is None else silence_seconds
        self.min_confidence = s.voice_min_confidence if min_confidence is None else min_confidence
        self.end_silence_ms = s.voice_end_silence_ms if end_silence_ms is None else end_silence_ms
        self.model: SpeechModel | None = model  # given already loaded: tests share one
        self.model_error: str | None = None
        self.calls: dict[str, "Call"] = {}
        self._loading: asyncio.Task | None = None

    # -------------------------------------------------------------- model
    async def load(self) -> None:
        """Load the Vosk model once (in a thread: seconds, hundreds of MB)."""
        if not self.model_path or self.model is not None:
            return
        if self._loading is None:
            self._loading = asyncio.create_task(self._load())
        await asyncio.shield(self._loading)

    async def _load(self) -> None:
        if not os.path.isdir(self.model_path):
            self.model_error = f"no such folder: {self.model_path}"
            log.error("voice off: Vosk model folder %s does not exist", self.model_path)
            return
        try:
            self.model = await asyncio.to_thread(SpeechModel, self.model_path, self.grammar)
            log.info("Vosk model loaded from %s", self.model_path)
        except Exception as exc:  # noqa: BLE001 - any failure means "voice off, here is why"
            self.model_error = f"{exc.__class__.__name__}: {exc}"
            log.error("voice off: cannot load the Vosk model from %s: %s", self.model_path, self.model_error)

    def status(self) -> Status:
        if not self.model_path:
            return Status(False, texts.OFF_NO_MODEL, texts.ADMIN_NO_MODEL)
        if not self.synthesizer.available():
            return Status(False, texts.OFF_NO_TTS, texts.ADMIN_NO_TTS)
        if self.model_error:
            return Status(False, texts.OFF_BAD_MODEL, texts.ADMIN_BAD_MODEL.format(path=self.model_path))
        if self.model is None:
            return Status(False, texts.OFF_LOADING)
        return Status(True, "Голосовой помощник на связи.")

    def new_recognizer(self, rate: int) -> StreamingRecognizer | None:
        return self.model.recognizer(rate, self.end_silence_ms) if self.model else None

    # -------------------------------------------------------------- calls
    def context(self) -> CallContext:
        s = self.runtime.settings
        return CallContext(org_name=s.org_name, assistant_name=s.assistant_name,
                           hours_text=speakable(self.desk.hours_text()), operator_open=self.desk.is_open(),
                           min_confidence=self.min_confidence)

    # ------------------------------------------- consent to keep the number
    async def callback_consent(self, client_id: str) -> bool:
        """Has this caller agreed (in any channel) that their number is kept for callbacks?"""
        state = await Ledger(self.runtime.redis).state(client_id)
        return state.has(f"personal_data:{CALLBACK_PURPOSE}")

    async def record_callback_consent(self, client_id: str, conversation_id: str, granted: bool) -> None:
        """The caller's answer to `texts.CONSENT_ASK`, in the consent ledger (raises if not saved)."""
        await record_personal_data_consent(
            self.runtime.redis, client_id, purpose=CALLBACK_PURPOSE, text_version=texts.CONSENT_VERSION,
            channel="voice", conversation_id=conversation_id, granted=granted, text_id=texts.CONSENT_TEXT_ID,
            sha256=hashlib.sha256(texts.CONSENT_ASK.encode("utf-8")).hexdigest(), title=documents().for_purpose(CALLBACK_PURPOSE).title)

    async def deliver(self, conversation_id: str, client_id: str, replies) -> bool:
        """Outbound sender for channel "voice": an operator's message is read into the live call."""
        from .session import OperatorSaid

        call = self.calls.get(conversation_id)
        if call is None or call.ended.is_set():
            return False
        call.post(OperatorSaid(tuple(replies)))
        return True
