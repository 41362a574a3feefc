"""What every messenger adapter does the same way (Telegram, MAX).

A messenger channel receives updates from its platform (long polling or a
webhook), turns each into the core's `Incoming` and sends the core's replies
back. This base class holds everything that does not depend on the
platform's API: the turn itself with «печатает…» meanwhile, voice messages
through a transcriber, the polite reply when a turn fails, one claim per
update across replicas, per-chat ordering while polling, fetching our own
images (payment QR codes) to upload them, retrying start-up calls, and the
outbound sender other modules use (operator messages, notifications).

A subclass says how to talk to its platform: `send_piece` (one planned
message: text, buttons, image), `send_typing`, and which conversation-id
scheme it owns (`SCHEME`: `tg:<chat>`, `max:<chat>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.core import texts
from bot.core.messages import Incoming, Reply, ReplyKind
from bot.core.numbers import is_digits
from bot.store.conversations import ConversationBusy

from .rendering import OPERATOR, Piece, error_reply, plan_all

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("channels.messenger")

IMAGE_FETCH_TIMEOUT_S = 5.0
IMAGE_MAX_BYTES = 5 * 1024 * 1024
VOICE_MAX_BYTES = 20 * 1024 * 1024  # a longer recording is not worth holding the recogniser for

# The commands menu: command → (the core payload it stands for, its title).
# /cancel: the core ends the active flow.
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("do:help", texts.INTENT_TITLES["help"]),
    "operator": ("do:ask_operator", texts.INTENT_TITLES["ask_operator"]),
    "consent": ("do:consent_status", texts.INTENT_TITLES["consent_status"]),
    "history": ("do:show_history", texts.INTENT_TITLES["show_history"]),
    "settings": ("do:notification_settings", texts.INTENT_TITLES["notification_settings"]),
    "cancel": ("do:cancel", "Отменить текущее действие"),
}

# Channel-level wording (the medium, not the conversation).
UNSUPPORTED_MEDIA = (
    "Спасибо! 🙂 Но стикеры, фото, видео и файлы я пока не умею читать — я понимаю текст и кнопки. "
    "Напишите, пожалуйста, ваш вопрос словами, например: «как открыть ИП?» — "
    "или откройте меню команд: /help."
)
VOICE_UNSUPPORTED = (
    "Голосовые сообщения я пока не распознаю 🙏 Напишите, пожалуйста, ваш вопрос текстом — я сразу отвечу."
)
VOICE_NOT_RECOGNISED = (
    "Не удалось разобрать голосовое сообщение 🙏 Попробуйте сказать ещё раз чуть медленнее или напишите вопрос текстом."
)
VOICE_HEARD = "🎙 Распознал: «{text}». Если я ошибся, напишите вопрос текстом."


class VoiceTranscriber(Protocol):
    """Speech-to-text seam for voice messages (the voice module lends its recogniser: voice/transcriber.py).
    Returns the recognised text, or None / "" when nothing was understood."""

    async def transcribe(self, audio: bytes, mime_type: str) -> str | None: ...


def command_payload(text: str) -> str | None:
    """The core payload a «/command» stands for: /start greets, an unknown command shows help;
    None when the text is not a command."""
    if not text.startswith("/"):
        return None
    name = text.split()[0].lstrip("/").split("@")[0].lower()
    if name == "start":
        from .rendering import START_PAYLOAD

        return START_PAYLOAD
    return COMMANDS.get(name, COMMANDS["help"])[0]


async def fetch_image(url: str) -> bytes | None:
    """Our image's bytes (its URL may be private, e.g. 127.0.0.1, so the platform could not
    fetch it itself); None when it cannot be had."""
    try:
        async with httpx.AsyncClient(timeout=IMAGE_FETCH_TIMEOUT_S) as http:
            resp = await http.get(url)
        if resp.status_code == 200 and 0 < len(resp.content) <= IMAGE_MAX_BYTES:
            return resp.content
        log.info("image not fetched (HTTP %s)", resp.status_code)
    except httpx.HTTPError as exc:
        log.info("image not fetched (%s)", exc.__class__.__name__)
    return None


def image_name(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?")[0] or "image.png"


class MessengerChannel(ABC):
    NAME: ClassVar[str]  # the channel in Incoming and in runtime.outbound
    SCHEME: ClassVar[str]  # conversation ids are f"{SCHEME}:{chat}"
    CHUNK_LIMIT: ClassVar[int]
    CAPTION_LIMIT: ClassVar[int]
    TYPING_EVERY_S: ClassVar[float] = 4.0
    # Errors of the platform's API meaning «this chat cannot be written to» (blocked, gone).
    UNDELIVERABLE: ClassVar[tuple[type[BaseException], ...]] = ()
    # Errors meaning the token is wrong: retrying will not help.
    FATAL: ClassVar[tuple[type[BaseException], ...]] = ()

    webhook_mode: bool = False  # the platform posts updates to us instead of being polled
    secret: str = ""  # the webhook's shared secret, sent back by the platform in a header

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.redis: Redis = runtime.redis
        self.transcriber: VoiceTranscriber | None = None
        self._tails: dict[Any, asyncio.Task] = {}  # per-chat ordering while polling

    # --------------------------------------------------------- platform side
    @abstractmethod
    async def send_piece(self, chat_id: int, piece: Piece) -> None:
        """Send one planned message; an image that cannot be sent leaves its text to go alone."""

    @abstractmethod
    async def send_typing(self, chat_id: int) -> None: ...

    @abstractmethod
    async def feed_raw(self, data: dict) -> None:
        """One update as the platform's JSON (a webhook's body), processed to the end."""

    def length(self, text: str) -> int:
        """How the platform counts a message's length."""
        return len(text)

    # ------------------------------------------------------------------ turns
    def conversation_id(self, chat_id: int) -> str:
        return f"{self.SCHEME}:{chat_id}"

    async def turn(self, chat_id: int, user: Any, *, text: str | None = None, payload: str | None = None) -> None:
        """One message to the core and its replies back, «печатает…» meanwhile. `user`: the
        sender's id (or a platform user object with `.id`); None = the chat itself."""
        user_id = getattr(user, "id", user)
        incoming = Incoming(
            conversation_id=self.conversation_id(chat_id),
            channel=self.NAME,
            client_id=f"{self.SCHEME}:{user_id if user_id is not None else chat_id}",
            text=text if payload is None else None,
            payload=payload,
            receipt=_next_receipt(),
        )
        async with self.typing(chat_id):
            result = await self.engine.handle(incoming)
        await self.send(chat_id, result.replies)

    async def voice(
        self,
        chat_id: int,
        user_id: int | None,
        recording: Callable[[], Awaitable[tuple[bytes, str]]],
        heard_by_platform: str | None = None,
    ) -> None:
        """A voice message: transcribed (our recogniser, else the platform's own transcript),
        shown back («Распознал: …») so the client can correct it, then answered as text."""
        if self.transcriber is None and not heard_by_platform:
            await self.send_notice(chat_id, VOICE_UNSUPPORTED)
            return
        heard = ""
        async with self.typing(chat_id):
            if self.transcriber is not None:
                audio, mime = await recording()
                heard = (await self.transcriber.transcribe(audio, mime) or "").strip()
            heard = heard or (heard_by_platform or "").strip()
        if not heard:
            await self.send_notice(chat_id, VOICE_NOT_RECOGNISED)
            return
        await self.send(chat_id, [Reply(kind=ReplyKind.info, text=VOICE_HEARD.format(text=heard))])
        await self.turn(chat_id, user_id, text=heard)

    async def polite_error(self, chat_id: int | None, exc: BaseException) -> None:
        """A failed turn is answered politely and never stops the bot."""
        if isinstance(exc, ConversationBusy):
            log.warning("conversation %s:%s busy", self.SCHEME, chat_id)
        else:
            log.error("turn failed in conversation %s:%s", self.SCHEME, chat_id, exc_info=exc)
        if chat_id is not None:
            with contextlib.suppress(Exception):
                await self.send(chat_id, [error_reply(exc)])

    # ---------------------------------------------------------------- sending
    @contextlib.asynccontextmanager
    async def typing(self, chat_id: int):
        async def keep_typing() -> None:
            while True:
                try:
                    await self.send_typing(chat_id)
                except Exception as exc:  # noqa: BLE001 - cosmetic; never block a reply
                    log.info("typing indicator unavailable: %s", exc.__class__.__name__)
                    return
                await asyncio.sleep(self.TYPING_EVERY_S)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        for piece in plan_all(replies, self.CHUNK_LIMIT, self.CAPTION_LIMIT, self.length):
            await self.send_piece(chat_id, piece)

    async def send_notice(self, chat_id: int, text: str) -> None:
        """A channel-level note, with the way to a human every reply offers."""
        await self.send(chat_id, [Reply(kind=ReplyKind.info, text=text, buttons=[OPERATOR])])

    async def deliver(self, conversation_id: str, client_id: str, replies: list[Reply]) -> bool:
        """Outbound sender for other modules (operator replies, notifications)."""
        scheme, _, chat = conversation_id.partition(":")
        if scheme != self.SCHEME or not is_digits(chat.removeprefix("-")):
            return False
        try:
            await self.send(int(chat), replies)
        except self.UNDELIVERABLE as exc:  # blocked the bot, chat gone
            log.warning("cannot deliver to %s: %s", conversation_id, exc.__class__.__name__)
            return False
        return True

    # ---------------------------------------------------------------- running
    async def retry(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        """A start-up call, retried with backoff through network trouble (not a wrong token)."""
        delay = 1.0
        while True:
            try:
                return await call()
            except self.FATAL:
                raise
            except Exception as exc:  # noqa: BLE001 - network trouble: wait and retry
                log.warning("could not %s (%s); retrying in %.0f s", what, exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    @contextlib.asynccontextmanager
    async def once(self, key: str) -> AsyncIterator[bool]:
        """Whether this process handles the update `key` names (from the channel's keyspace):
        True for the first replica to take it, False once it was handled. While it is being
        handled the claim is short-lived and renewed by its holder, so when the process dies
        mid-turn the platform's redelivery is handled within IDEMPOTENCY_CLAIM_TTL_S instead
        of being dropped (the engine's receipt then answers with a turn already saved, never
        a second one), while a long turn (a long voice message) keeps its claim; a
        redelivery meanwhile waits for the first to finish."""
        from bot.store import keys

        mine = f"{IN_FLIGHT}{secrets.token_hex(6)}"
        deadline = time.monotonic() + keys.IDEMPOTENCY_CLAIM_TTL_S + 5
        while not await self.redis.set(key, mine, nx=True, ex=keys.IDEMPOTENCY_CLAIM_TTL_S):
            held = await self.redis.get(key)
            if held is not None and (not held.startswith(IN_FLIGHT) or time.monotonic() > deadline):
                yield False  # handled already (or its handler never lets go: not ours to double)
                return
            await asyncio.sleep(0.2)
        receipts = _update.set([key, 0])
        renewing = asyncio.create_task(self._renew(key, mine))
        try:
            yield True
        except BaseException:  # cancelled (shutdown) or the like: a redelivery may take it at once
            await _stop(renewing)
            await self.redis.delete(key)
            raise
        else:  # handled, a failure included (it was answered politely): never again
            await _stop(renewing)
            await self.redis.set(key, "1", ex=keys.SEEN_TTL_S)
        finally:
            renewing.cancel()
            _update.reset(receipts)

    async def _renew(self, key: str, mine: str) -> None:
        from bot.store import keys

        while True:
            await asyncio.sleep(keys.IDEMPOTENCY_CLAIM_TTL_S / 3)
            with contextlib.suppress(Exception):  # a missed renewal only shortens the claim
                await self.redis.set(key, mine, xx=True, ex=keys.IDEMPOTENCY_CLAIM_TTL_S)

    def schedule(self, chat: Any, process: Callable[[], Awaitable[None]]) -> None:
        """Process updates concurrently across chats, in order within a chat."""
        previous = self._tails.get(chat)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await process()

        task = asyncio.create_task(run())
        self._tails[chat] = task
        task.add_done_callback(lambda t: self._tails.pop(chat, None) if self._tails.get(chat) is t else None)

    def stop_tails(self) -> None:
        for task in list(self._tails.values()):
            task.cancel()


IN_FLIGHT = "in-flight:"


async def _stop(task: asyncio.Task) -> None:
    """Cancel `task` and wait until it has stopped (its last write is not in flight). `wait`,
    not `await task`: the caller's own cancellation must still reach the caller."""
    task.cancel()
    await asyncio.wait([task])


# The update being handled and how many turns it has started: each turn's receipt.
_update: ContextVar[list | None] = ContextVar("messenger_update", default=None)


def _next_receipt() -> str | None:
    current = _update.get()
    if current is None:
        return None
    current[1] += 1
    return f"{current[0]}#{current[1]}"


def mount_webhook(app: FastAPI, ch: MessengerChannel | None, path: str, header: str, platform: str) -> None:
    """The platform's webhook, when the channel runs in webhook mode: the secret is
    checked, then the update is processed before answering — the platform retries
    anything but 200, and a retry of a handled update is dropped by its claim."""
    if ch is None or not ch.webhook_mode:
        return
    setting = f"{ch.NAME.upper()}_WEBHOOK_SECRET"

    @app.post(path, include_in_schema=False, name=f"{ch.NAME}_webhook")
    async def webhook(request: Request):
        given = request.headers.get(header, "")
        if not hmac.compare_digest(given.encode(), ch.secret.encode()):
            return JSONResponse(
                status_code=403,
                content={
                    "error": "forbidden",
                    "message": f"Неверный секрет вебхука: {platform} передаёт его в заголовке {header}; "
                    f"он должен совпадать с {setting}.",
                },
            )
        try:
            data = await request.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            await ch.feed_raw(data)
        return {"ok": True}


def messengers(runtime) -> list[MessengerChannel]:
    """The messenger channels running in this assistant."""
    return [ch for ch in (runtime.telegram, runtime.max) if ch is not None]


def set_transcriber(runtime, transcriber: VoiceTranscriber) -> None:
    """For a speech module installed after the messengers (see bot/modules.py)."""
    for ch in messengers(runtime):
        ch.transcriber = transcriber
