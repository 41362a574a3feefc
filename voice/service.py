"""The voice line's shared parts: the speech recogniser, the synthesizer, the
desk, the live calls — and what the line can do right now.

With a recogniser the caller speaks or presses keys; with none (not
installed, switched off, failed to load) the line still answers, by keypad
with spoken menus. Only without any synthesizer is it off. Why it is not
fully on is for the administrator (`Status.admin_hint`: the log and the
launcher banner), never for the caller or the public page."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.consent.documents import documents
from bot.consent.ledger import Ledger, record_personal_data_consent
from bot.core.engine import answer_text
from bot.core.messages import Reply, ReplyKind
from knowledge_base.models import Segment

from . import texts
from .desk import DefaultDesk, OperatorDesk
from .recognizer import Choice, SpeechModel, Stream, choose, open_model
from .render import render, speakable
from .session import CallContext, greeting
from .synthesizer import Synthesizer
from .synthesizer import choose as choose_synthesizer

if TYPE_CHECKING:
    from bot.runtime import Runtime

    from .call import Call

log = logging.getLogger("voice.service")

CALLBACK_PURPOSE = "callback"  # the personal-data purpose in the consent ledger (as the chat's callback flow)


@dataclass(frozen=True)
class Status:
    on: bool  # a call can be placed
    message: str  # for the caller, Russian
    speech: bool = False  # the line understands speech (else: keypad only)
    admin_hint: str = ""  # for whoever runs the assistant (log, banner): never shown to callers

    def public(self) -> dict:
        """What the /call page and its WebSocket may show anyone."""
        return {"on": self.on, "message": self.message, "speech": self.speech}


def parse_grammar(raw: str) -> list[str] | None:
    """VOICE_GRAMMAR: a JSON list of phrases, or phrases separated by «|»."""
    raw = raw.strip()
    if not raw:
        return None
    phrases = json.loads(raw) if raw.startswith("[") else raw.split("|")
    return [p.strip() for p in phrases if str(p).strip()] or None


class VoiceService:
    def __init__(
        self,
        runtime: Runtime,
        *,
        choice: Choice | None = None,
        grammar: list[str] | None = None,
        synthesizer: Synthesizer | None = None,
        desk: OperatorDesk | None = None,
        pace: bool = True,
        silence_seconds: float | None = None,
        min_confidence: float | None = None,
        end_silence_ms: int | None = None,
        model: SpeechModel | None = None,
    ):
        s = runtime.settings
        self.runtime = runtime
        # model: given already loaded (tests share one); choice: what to load (default: from the settings)
        self.choice = Choice(model.engine, model.path) if model else choose(s) if choice is None else choice
        self.grammar = parse_grammar(s.voice_grammar) if grammar is None else grammar
        self.synthesizer: Synthesizer = synthesizer or choose_synthesizer(
            s.data_dir / "voice-cache", s.voice_tts, s.voice_tts_voice, s.voice_tts_speed
        )
        self.desk: OperatorDesk = desk or DefaultDesk(runtime.redis)
        self.pace = pace  # False only in tests: audio is sent as fast as it is made
        self.silence_seconds = s.voice_silence_seconds if silence_seconds is None else silence_seconds
        self.min_confidence = s.voice_min_confidence if min_confidence is None else min_confidence
        self.end_silence_ms = s.voice_end_silence_ms if end_silence_ms is None else end_silence_ms
        self.model: SpeechModel | None = model
        self.model_error: str | None = None
        self.calls: dict[str, Call] = {}
        self._loading: asyncio.Task | None = None
        self._prewarming: asyncio.Task | None = None

    # -------------------------------------------------------------- model
    async def load(self) -> None:
        """Load the recogniser once (in a thread: seconds, hundreds of MB) and warm it up."""
        if not self.choice.engine or self.model is not None:
            return
        if self._loading is None:
            self._loading = asyncio.create_task(self._load())
        await asyncio.shield(self._loading)

    async def _load(self) -> None:
        settings = self.runtime.settings
        try:
            model = await asyncio.to_thread(open_model, self.choice, settings, self.grammar)
            await asyncio.to_thread(model.transcribe, bytes(16000), 8000)  # the first run of a model is slow
        except Exception as exc:  # noqa: BLE001 - any failure means "keypad only, here is why"
            self.model_error = texts.ADMIN_BAD_MODEL.format(
                engine=self.choice.engine,
                path=self.choice.path or "the packaged files",
                error=f"{exc.__class__.__name__}: {exc}",
            )
            log.error("%s", self.model_error)
            return
        self.model = model
        log.info("voice line: speech recogniser %s loaded", model.name)
        try:  # the greeting is the first thing every caller hears: have it ready
            await self.synthesizer.synthesize(greeting(self.context()).speech, 8000)
        except Exception:
            log.exception("voice line: the synthesizer could not say the greeting")
            return
        self._prewarming = asyncio.create_task(self.prewarm_answers())

    async def prewarm_answers(self) -> int:
        """Answers are known in advance: synthesize the opening piece of every
        knowledge-base answer (each segment's variant) into the disk cache, one at
        a time in the background, so a caller hears an answer start as soon as it
        is found. Returns how many pieces were synthesized (cached ones cost nothing)."""
        made = 0
        for piece in answer_openings(self.runtime.kb):
            before = getattr(self.synthesizer, "calls", 0)
            try:
                await self.synthesizer.synthesize(piece, 8000)
            except Exception:
                log.exception("voice line: could not prepare the answers' openings")
                return made
            made += getattr(self.synthesizer, "calls", 0) - before
        if made:
            log.info("voice line: %d answer openings prepared", made)
        return made

    def status(self) -> Status:
        if not self.synthesizer.available():
            return Status(False, texts.OFF_NO_TTS, admin_hint=texts.ADMIN_NO_TTS)
        if self.model is not None:
            return Status(True, texts.ON, speech=True)
        if self.choice.engine and self.model_error is None:
            return Status(False, texts.OFF_LOADING)
        return Status(True, texts.ON_KEYPAD, admin_hint=self.model_error or self.choice.why_none)

    def new_recognizer(self, rate: int) -> Stream | None:
        return self.model.recognizer(rate, self.end_silence_ms) if self.model else None

    # -------------------------------------------------------------- calls
    def context(self) -> CallContext:
        s = self.runtime.settings
        return CallContext(
            org_name=s.org_name,
            assistant_name=s.assistant_name,
            hours_text=speakable(self.desk.hours_text()),
            operator_open=self.desk.is_open(),
            min_confidence=self.min_confidence,
            speech=self.model is not None,
        )

    # ------------------------------------------- consent to keep the number
    async def callback_consent(self, client_id: str) -> bool:
        """Has this caller agreed (in any channel) that their number is kept for callbacks?"""
        state = await Ledger(self.runtime.redis).state(client_id)
        return state.has(f"personal_data:{CALLBACK_PURPOSE}")

    async def record_callback_consent(self, client_id: str, conversation_id: str, granted: bool) -> None:
        """The caller's answer to `texts.CONSENT_ASK`, in the consent ledger (raises if not saved)."""
        await record_personal_data_consent(
            self.runtime.redis,
            client_id,
            purpose=CALLBACK_PURPOSE,
            text_version=texts.CONSENT_VERSION,
            channel="voice",
            conversation_id=conversation_id,
            granted=granted,
            text_id=texts.CONSENT_TEXT_ID,
            sha256=hashlib.sha256(texts.CONSENT_ASK.encode("utf-8")).hexdigest(),
            title=documents().for_purpose(CALLBACK_PURPOSE).title,
        )

    async def deliver(self, conversation_id: str, client_id: str, replies) -> bool:
        """Outbound sender for channel "voice": an operator's message is read into the live call."""
        from .session import OperatorSaid

        call = self.calls.get(conversation_id)
        if call is None or call.ended.is_set():
            return False
        call.post(OperatorSaid(tuple(replies)))
        return True


def answer_openings(kb) -> list[str]:
    """The first piece the line says of every answer variant, as a call would cut it."""
    from .call import first_piece  # call.py imports this module

    pieces: dict[str, None] = {}
    for topic_id in kb.ids():
        for segment in (None, *Segment):
            text = answer_text(kb[topic_id], segment.value if segment else None)
            piece = first_piece(render([Reply(kind=ReplyKind.answer, text=text)]).body)
            if piece:
                pieces[piece] = None
    return list(pieces)
