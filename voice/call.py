"""Runs one call: feeds events to the pure state machine and performs its actions.

A transport (the browser WebSocket, Asterisk AudioSocket) creates a `Call`
with an `Output` — how audio and screen events reach the caller — and pushes
what arrives: `audio()`, `key()`, `hang_up()`. Everything the call does
happens in `run()`, one event at a time, so the state needs no locks.

Playback is paced in real time (a short lead keeps the line fed) so that
barge-in can stop it; sentences are synthesized one ahead of playback, so
the first audio frame leaves soon after the answer is known.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.messages import Incoming
from bot.store.conversations import ConversationBusy

from .audio import frame_bytes
from .session import (
    Answered,
    Ask,
    BookCallback,
    Booked,
    CallState,
    ConsentRecorded,
    Event,
    Failed,
    HangUp,
    Heard,
    HungUp,
    Key,
    Phase,
    PlaybackDone,
    RecordConsent,
    Say,
    Silence,
    Speech,
    Start,
    StopPlayback,
    step,
)

if TYPE_CHECKING:
    from .service import VoiceService

log = logging.getLogger("voice.call")

PLAYBACK_LEAD_S = 0.12  # audio sent ahead of real time
RECOGNITION_CHUNK_MS = 60  # feed the recogniser in chunks this long (longer: the end of speech is seen later)
FIRST_PIECE_CHARS = 60  # a longer first sentence is cut at a comma after 20 characters: the answer starts sooner
KEYS = set("0123456789*#")


class Output(Protocol):
    rate: int  # sample rate of the audio this transport carries
    frame_ms: int  # size of one outgoing audio message

    async def send_audio(self, pcm: bytes) -> None: ...

    async def flush(self) -> None:
        """Drop audio the peer has queued but not played (barge-in)."""
        ...

    async def notify(self, event: dict[str, Any]) -> None:
        """Text events for a screen (what was said, recognised, which keys); a phone ignores them."""
        ...

    async def hang_up(self) -> None: ...


@dataclass(frozen=True)
class _Timed:
    """A timer's event, dropped when something happened after it was armed."""

    event: Event
    generation: int


class Call:
    def __init__(self, service: VoiceService, call_id: str, output: Output, number: str | None = None):
        self.service = service
        self.call_id = call_id
        self.output = output
        self.conversation_id = f"voice:{call_id}"
        self.client_id = f"phone:{number}" if number else f"voice:{call_id}"
        self.recognizer = service.new_recognizer(output.rate)
        self.state = CallState(number=number, keypad_only=self.recognizer is None)
        self._events: asyncio.Queue[Event | _Timed] = asyncio.Queue()
        self._audio = bytearray()
        self._in_utterance = False
        self._player: asyncio.Task | None = None
        self._play_gen = 0
        self._timer: asyncio.Task | None = None
        self._timer_gen = 0
        self.ended = asyncio.Event()

    # ----------------------------------------------------- transport side
    async def audio(self, pcm: bytes) -> None:
        if self.recognizer is None or self.ended.is_set():
            return
        self._audio += pcm
        if len(self._audio) < frame_bytes(self.output.rate, RECOGNITION_CHUNK_MS):
            return
        chunk, self._audio = bytes(self._audio), bytearray()
        for result in await asyncio.to_thread(self.recognizer.feed, chunk):
            # a partial may have no text yet (Whisper hears that speech started, not what was said)
            await self.output.notify({"type": "transcript", "text": result.text, "final": result.final})
            if not result.final:
                if not self._in_utterance:
                    self._in_utterance = True
                    self.post(Speech())
            else:
                self._in_utterance = False
                self.post(Heard(result.text, result.confidence))

    def key(self, digit: str) -> None:
        if digit in KEYS:
            self.post(Key(digit))

    def hang_up(self) -> None:
        self.post(HungUp())

    def post(self, event: Event | _Timed) -> None:
        self._events.put_nowait(event)

    # ------------------------------------------------------------ the loop
    async def run(self) -> None:
        self.service.calls[self.conversation_id] = self
        log.info("call %s started", self.call_id)
        try:
            if self.state.number:  # a known number may have agreed to callbacks before
                self.state = replace(self.state, consented=await self._consent_given())
            await self._handle(Start())
            while self.state.phase is not Phase.ended:
                item = await self._events.get()
                if isinstance(item, _Timed):
                    current = self._play_gen if isinstance(item.event, PlaybackDone) else self._timer_gen
                    if item.generation != current:
                        continue
                    item = item.event
                await self._handle(item)
        finally:
            await self._stop_playback(flush=False)
            self._cancel_timer()
            if self.recognizer is not None:
                self.recognizer.close()
            self.service.calls.pop(self.conversation_id, None)
            self.ended.set()
            log.info("call %s ended", self.call_id)

    async def _handle(self, event: Event) -> None:
        if isinstance(event, (Speech, Heard, Key)):
            self._cancel_timer()
        before = self.state.phase
        self.state, actions = step(self.state, event, self.service.context())
        log.debug("call %s: %s %s → %s", self.call_id, type(event).__name__, before.value, self.state.phase.value)
        for action in actions:
            await self._perform(action)
        if self.state.phase is Phase.listening and not self._in_utterance:
            self._arm_timer()
        elif self.state.phase is not Phase.listening:
            self._cancel_timer()

    async def _perform(self, action) -> None:
        if isinstance(action, Say):
            await self._stop_playback()
            await self.output.notify({"type": "say", "text": action.prompt.speech, "keys": sorted(action.prompt.keys)})
            self._play_gen += 1
            self._player = asyncio.create_task(self._play(action.prompt.speech, self._play_gen))
        elif isinstance(action, StopPlayback):
            await self._stop_playback()
        elif isinstance(action, Ask):
            await self._handle(await self._ask(action))
        elif isinstance(action, RecordConsent):
            try:
                await self.service.record_callback_consent(self.client_id, self.conversation_id, action.granted)
                ok = True
            except Exception:
                log.exception("call %s: consent not recorded", self.call_id)
                ok = False
            await self._handle(ConsentRecorded(action.granted, ok))
        elif isinstance(action, BookCallback):
            try:
                text = await self.service.desk.book_callback(
                    action.phone, self.conversation_id, client_id=self.client_id
                )
            except Exception:
                log.exception("call %s: callback booking failed", self.call_id)
                text = None
            await self._handle(Booked(text))
        elif isinstance(action, HangUp):
            await self.output.hang_up()

    async def _ask(self, action: Ask) -> Event:
        incoming = Incoming(
            conversation_id=self.conversation_id,
            channel="voice",
            client_id=self.client_id,
            text=action.text,
            payload=action.payload,
        )
        try:
            result = await self.service.runtime.engine.handle(incoming)
        except ConversationBusy:
            return Failed()
        except Exception:
            log.exception("call %s: turn failed", self.call_id)
            return Failed()
        return Answered(
            tuple(result.replies),
            with_operator=result.state.with_operator,
            intent=result.understanding.intent if result.understanding else None,
        )

    async def _consent_given(self) -> bool:
        try:
            return await self.service.callback_consent(self.client_id)
        except Exception:
            log.exception("call %s: cannot read the consent ledger", self.call_id)
            return False

    # ------------------------------------------------------------ playback
    async def _play(self, text: str, generation: int) -> None:
        loop = asyncio.get_running_loop()
        sentences = _pieces(text)
        frame = frame_bytes(self.output.rate, self.output.frame_ms)
        clock = loop.time()
        try:
            upcoming = asyncio.create_task(self._synthesize(sentences[0])) if sentences else None
            for i in range(len(sentences)):
                assert upcoming is not None  # one task per sentence
                pcm = await upcoming
                upcoming = asyncio.create_task(self._synthesize(sentences[i + 1])) if i + 1 < len(sentences) else None
                for pos in range(0, len(pcm), frame):
                    chunk = pcm[pos : pos + frame]
                    await self.output.send_audio(chunk + bytes(frame - len(chunk)))
                    if self.service.pace:
                        clock = max(clock, loop.time() - PLAYBACK_LEAD_S) + self.output.frame_ms / 1000
                        ahead = clock - loop.time()
                        if ahead > PLAYBACK_LEAD_S:
                            await asyncio.sleep(ahead - PLAYBACK_LEAD_S)
            if self.service.pace:
                await asyncio.sleep(max(0.0, clock - loop.time()))  # until the caller has heard it
        except asyncio.CancelledError:
            if upcoming:
                upcoming.cancel()
            raise
        except Exception:
            log.exception("call %s: playback failed", self.call_id)
        self.post(_Timed(PlaybackDone(), generation))

    async def _synthesize(self, sentence: str) -> bytes:
        return await self.service.synthesizer.synthesize(sentence, self.output.rate)

    async def _stop_playback(self, flush: bool = True) -> None:
        player, self._player = self._player, None
        self._play_gen += 1
        if player and not player.done():
            player.cancel()
            await asyncio.gather(player, return_exceptions=True)
            if flush:
                await self.output.flush()

    # --------------------------------------------------------------- timer
    def _arm_timer(self) -> None:
        if self._timer and not self._timer.done():
            return
        self._timer_gen += 1
        self._timer = asyncio.create_task(self._silence_after(self.service.silence_seconds, self._timer_gen))

    def _cancel_timer(self) -> None:
        self._timer_gen += 1
        if self._timer and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def _silence_after(self, seconds: float, generation: int) -> None:
        await asyncio.sleep(seconds)
        self.post(_Timed(Silence(), generation))


def _pieces(text: str) -> list[str]:
    """Sentences, synthesized one ahead of playback; a long first one is cut at a comma or dash."""
    sentences = [s for s in re.split(r"(?<=[.!?…])\s+", text) if s.strip()]
    if sentences and len(sentences[0]) > FIRST_PIECE_CHARS:
        cut = re.search(r"[,—:;]\s+", sentences[0][20:])
        if cut:
            at = 20 + cut.end()
            sentences[:1] = [sentences[0][:at].strip(), sentences[0][at:].strip()]
    return sentences


def first_piece(text: str) -> str:
    """What the caller hears first of `text` (the piece synthesized before playback starts)."""
    pieces = _pieces(text)
    return pieces[0] if pieces else ""


async def announce(service: VoiceService, output: Output, text: str) -> None:
    """Say one message outside a call (e.g. «voice is off») and hang up."""
    loop = asyncio.get_running_loop()
    frame = frame_bytes(output.rate, output.frame_ms)
    try:
        pcm = await service.synthesizer.synthesize(text, output.rate)
    except Exception:
        log.exception("cannot synthesize an announcement")
        pcm = b""
    clock = loop.time()
    for pos in range(0, len(pcm), frame):
        chunk = pcm[pos : pos + frame]
        await output.send_audio(chunk + bytes(frame - len(chunk)))
        if service.pace:
            clock = max(clock, loop.time() - PLAYBACK_LEAD_S) + output.frame_ms / 1000
            if clock - loop.time() > PLAYBACK_LEAD_S:
                await asyncio.sleep(clock - loop.time() - PLAYBACK_LEAD_S)
    if service.pace:
        await asyncio.sleep(max(0.0, clock - loop.time()))
    await output.hang_up()
