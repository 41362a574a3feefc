"""Telegram channel (R-18): an aiogram 3 adapter around the conversation core.

The adapter turns an update into the core's `Incoming` (text, button payload
or command → payload) and renders the core's replies (telegram_render). It
owns nothing else: what to say is decided by the core.

Modes (bot.settings):
  no TELEGRAM_BOT_TOKEN          the module does nothing
  token, no TELEGRAM_WEBHOOK_URL long polling from `background()`
  token + TELEGRAM_WEBHOOK_URL   Telegram POSTs updates to
                                 {TELEGRAM_WEBHOOK_URL}/telegram/webhook, checked
                                 against X-Telegram-Bot-Api-Secret-Token

Several replicas may run at once: every update is claimed once in Redis
(`keys.telegram_update`) and the core serialises each conversation with its
own lock, so nobody gets a double answer.
"""

from __future__ import annotations

from bot.modules import Module

import asyncio
import contextlib
import hashlib
import hmac
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter,
                                TelegramUnauthorizedError)
from aiogram.filters import Command, CommandStart
from aiogram.types import (BotCommand, BufferedInputFile, CallbackQuery, LinkPreviewOptions, Message,
                           TelegramObject, Update)

from fastapi import Request
from fastapi.responses import JSONResponse

from bot.core import texts
from bot.core.messages import Button, Incoming, Reply, ReplyKind
from bot.core.numbers import is_digits
from bot.store import keys
from bot.store.conversations import ConversationBusy

from .telegram_render import OutMessage, escape, keyboard, render

log = logging.getLogger("channels.telegram")

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")  # a module adds more with `extend`
POLL_TIMEOUT_S = 25
TYPING_EVERY_S = 4.0  # Telegram shows «печатает…» for ~5 s per chat action
SEND_ATTEMPTS = 3
IMAGE_FETCH_TIMEOUT_S = 5.0
IMAGE_MAX_BYTES = 5 * 1024 * 1024  # Telegram's limit for a photo sent by URL

# Commands menu: command → the core payload it stands for (/cancel: the core
# ends the active flow).
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("do:help", texts.INTENT_TITLES["help"]),
    "operator": ("do:ask_operator", texts.INTENT_TITLES["ask_operator"]),
    "consent": ("do:consent_status", texts.INTENT_TITLES["consent_status"]),
    "history": ("do:show_history", texts.INTENT_TITLES["show_history"]),
    "settings": ("do:notification_settings", texts.INTENT_TITLES["notification_settings"]),
    "cancel": ("do:cancel", "Отменить текущее действие"),
}
OPERATOR = Button(title=texts.OPERATOR_BUTTON, payload="do:ask_operator")
START_PAYLOAD = "do:greet"  # the core greets, introduces itself and shows topics

# Channel-specific wording (the medium, not the conversation).
UNSUPPORTED_MEDIA = (
    "Спасибо! 🙂 Но стикеры, фото, видео и файлы я пока не умею читать — я понимаю текст и кнопки. "
    "Напишите, пожалуйста, ваш вопрос словами, например: «как открыть ИП?» — "
    "или откройте меню команд: /help."
)
VOICE_UNSUPPORTED = (
    "Голосовые сообщения я пока не распознаю 🙏 Напишите, пожалуйста, ваш вопрос текстом — "
    "я сразу отвечу."
)
VOICE_NOT_RECOGNISED = (
    "Не удалось разобрать голосовое сообщение 🙏 Попробуйте сказать ещё раз чуть медленнее "
    "или напишите вопрос текстом."
)
VOICE_HEARD = "🎙 Распознал: «{text}». Если я ошибся, напишите вопрос текстом."


class VoiceTranscriber(Protocol):
    """Speech-to-text seam for voice messages (the voice module lends its recogniser: voice/transcriber.py).
    Returns the recognised text, or None / "" when nothing was understood."""

    async def transcribe(self, audio: bytes, mime_type: str) -> str | None: ...


def webhook_secret(settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the token so the header is
    always checked and every replica computes the same value."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hashlib.sha256(f"webhook:{settings.telegram_bot_token}".encode()).hexdigest()


def webhook_url(settings) -> str:
    return settings.telegram_webhook_url.rstrip("/") + WEBHOOK_PATH


def launcher_note(settings) -> str:
    """One line for the launcher banner."""
    if not settings.telegram_bot_token:
        return "off — set TELEGRAM_BOT_TOKEN to turn it on (TELEGRAM_WEBHOOK_URL for webhook mode)"
    if settings.telegram_webhook_url:
        return f"on — webhook {webhook_url(settings)}"
    return "on — long polling (set TELEGRAM_WEBHOOK_URL for webhook mode)"


class TelegramChannel:
    def __init__(self, runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.engine = runtime.engine
        self.redis = runtime.redis
        self.webhook_mode = bool(settings.telegram_webhook_url)
        self.secret = webhook_secret(settings)
        self.transcriber: VoiceTranscriber | None = None
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base)) \
            if settings.telegram_api_base else AiohttpSession()
        self.bot = Bot(settings.telegram_bot_token, session=session)
        self.dp = Dispatcher()
        self.dp.update.outer_middleware(_PoliteErrors(self))
        self.dp.update.outer_middleware(_OncePerUpdate(self))
        # Other modules' handlers (e.g. Telegram Payments) go ahead of the channel's
        # own router, whose catch-all would otherwise take their updates.
        self.extensions = Router(name="telegram-extensions")
        self.dp.include_router(self.extensions)
        self.dp.include_router(self._router())
        self.allowed_updates: list[str] = list(ALLOWED_UPDATES)
        self._tails: dict[Any, asyncio.Task] = {}  # per-chat ordering while polling

    def extend(self, router: Router, *updates: str) -> None:
        """Another module's handlers, ahead of the channel's own; `updates`: the update
        types they need that the channel does not ask Telegram for by itself."""
        self.extensions.include_router(router)
        self.allowed_updates += [u for u in updates if u not in self.allowed_updates]

    # ---------------------------------------------------------------- handlers
    def _router(self) -> Router:
        router = Router(name="telegram")

        @router.message(CommandStart())
        async def start(message: Message) -> None:
            await self.turn(message.chat.id, message.from_user, payload=START_PAYLOAD)

        @router.message(Command(*COMMANDS))
        async def command(message: Message) -> None:
            name = message.text.split()[0].lstrip("/").split("@")[0].lower()
            await self.turn(message.chat.id, message.from_user, payload=COMMANDS[name][0])

        @router.message(F.text.startswith("/"))
        async def unknown_command(message: Message) -> None:
            await self.turn(message.chat.id, message.from_user, payload=COMMANDS["help"][0])

        @router.message(F.text)
        async def text(message: Message) -> None:
            await self.turn(message.chat.id, message.from_user, text=message.text)

        @router.callback_query(F.data)
        async def button(query: CallbackQuery) -> None:
            with contextlib.suppress(Exception):  # only stops the button's spinner
                await query.answer()
            if query.message is None:  # inline-mode message: no chat to answer in
                return
            await self.turn(query.message.chat.id, query.from_user, payload=query.data)

        @router.message(F.voice | F.audio | F.video_note)
        async def voice(message: Message) -> None:
            await self.voice(message)

        @router.message()
        async def anything_else(message: Message) -> None:
            await self.send_notice(message.chat.id, UNSUPPORTED_MEDIA)

        return router

    async def turn(self, chat_id: int, user, *, text: str | None = None, payload: str | None = None) -> None:
        """One message to the core and its replies back, «печатает…» meanwhile."""
        user_id = user.id if user else chat_id
        incoming = Incoming(conversation_id=f"tg:{chat_id}", channel=CHANNEL, client_id=f"tg:{user_id}",
                            text=text if payload is None else None, payload=payload)
        async with self.typing(chat_id):
            result = await self.engine.handle(incoming)
        await self.send(chat_id, result.replies)

    async def voice(self, message: Message) -> None:
        if self.transcriber is None:
            await self.send_notice(message.chat.id, VOICE_UNSUPPORTED)
            return
        media = message.voice or message.audio or message.video_note
        async with self.typing(message.chat.id):
            buffer = await self.bot.download(media.file_id)
            heard = (await self.transcriber.transcribe(buffer.read(), getattr(media, "mime_type", None)
                                                       or "audio/ogg") or "").strip()
        if not heard:
            await self.send_notice(message.chat.id, VOICE_NOT_RECOGNISED)
            return
        await self.send(message.chat.id, [Reply(kind=ReplyKind.info, text=VOICE_HEARD.format(text=heard))])
        await self.turn(message.chat.id, message.from_user, text=heard)

    # ----------------------------------------------------------------- sending
    @contextlib.asynccontextmanager
    async def typing(self, chat_id: int):
        async def keep_typing() -> None:
            while True:
                try:
                    await self.bot.send_chat_action(chat_id, "typing")
                except Exception as exc:  # noqa: BLE001 - cosmetic; never block a reply
                    log.info("typing indicator unavailable: %s", exc.__class__.__name__)
                    return
                await asyncio.sleep(TYPING_EVERY_S)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        for out in render(replies):
            await self._send_one(chat_id, out)

    async def send_notice(self, chat_id: int, text: str) -> None:
        """A channel-level note, with the way to a human every reply offers."""
        await self._send_one(chat_id, OutMessage(html=escape(text), keyboard=keyboard([OPERATOR])))

    async def _send_one(self, chat_id: int, out: OutMessage) -> None:
        """Send honouring flood limits (RetryAfter); fall back to plain text if
        Telegram rejects the HTML (it should not: all core text is escaped).
        A photo that cannot be sent leaves its caption to go as plain text."""
        if out.photo:
            if await self._send_photo(chat_id, out) or not out.html:
                return
        parse_mode: str | None = "HTML"
        text = out.html
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.bot.send_message(chat_id, text, parse_mode=parse_mode, reply_markup=out.keyboard,
                                            link_preview_options=LinkPreviewOptions(is_disabled=True))
                return
            except TelegramRetryAfter as exc:
                if attempt == SEND_ATTEMPTS:
                    raise
                log.warning("flood limit: waiting %s s before sending to tg:%s", exc.retry_after, chat_id)
                await asyncio.sleep(exc.retry_after)
            except TelegramBadRequest as exc:
                if parse_mode is None or "parse" not in exc.message.lower():
                    raise
                parse_mode, text = None, html.unescape(text)

    async def _send_photo(self, chat_id: int, out: OutMessage) -> bool:
        """The image as a photo, with the caption and keyboard; False when Telegram refused it."""
        photo = await self._photo(out.photo)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.bot.send_photo(chat_id, photo, caption=out.html or None,
                                          parse_mode="HTML" if out.html else None, reply_markup=out.keyboard)
                return True
            except TelegramRetryAfter as exc:
                if attempt == SEND_ATTEMPTS:
                    break
                await asyncio.sleep(exc.retry_after)
            except Exception as exc:  # noqa: BLE001 - the text carries the same information
                log.warning("photo not sent to tg:%s (%s); sending the text alone", chat_id, exc.__class__.__name__)
                return False
        return False

    async def _photo(self, url: str) -> BufferedInputFile | str:
        """Our image's bytes (its URL may be private, e.g. 127.0.0.1); the URL itself
        when they cannot be fetched — Telegram then tries to fetch it."""
        try:
            async with httpx.AsyncClient(timeout=IMAGE_FETCH_TIMEOUT_S) as http:
                resp = await http.get(url)
            if resp.status_code == 200 and 0 < len(resp.content) <= IMAGE_MAX_BYTES:
                name = url.rsplit("/", 1)[-1].split("?")[0] or "image.png"
                return BufferedInputFile(resp.content, filename=name)
            log.info("image not fetched (HTTP %s); passing its URL to Telegram", resp.status_code)
        except httpx.HTTPError as exc:
            log.info("image not fetched (%s); passing its URL to Telegram", exc.__class__.__name__)
        return url

    async def deliver(self, conversation_id: str, client_id: str, replies: list[Reply]) -> bool:
        """Outbound sender for other modules (operator replies, notifications)."""
        scheme, _, chat = conversation_id.partition(":")
        if scheme != "tg" or not is_digits(chat.removeprefix("-")):
            return False
        try:
            await self.send(int(chat), replies)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:  # blocked the bot, chat gone
            log.warning("cannot deliver to %s: %s", conversation_id, exc.__class__.__name__)
            return False
        return True

    # ---------------------------------------------------------------- running
    async def prepare(self) -> None:
        """The commands menu; a failure here must never stop the bot."""
        commands = [BotCommand(command=name, description=title) for name, (_, title) in COMMANDS.items()]
        try:
            await self.bot.set_my_commands(commands)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not set the commands menu: %s", exc.__class__.__name__)

    async def run(self) -> None:
        """The background job: webhook registration or long polling, until cancelled."""
        try:
            me = await self._retry(self.bot.get_me, "reach Telegram")
            log.info("Telegram bot @%s is up (%s)", me.username, "webhook" if self.webhook_mode else "polling")
            await self.prepare()
            if self.webhook_mode:
                url = webhook_url(self.runtime.settings)
                await self._retry(lambda: self.bot.set_webhook(url, secret_token=self.secret,
                                                               allowed_updates=self.allowed_updates), "set the webhook")
                await asyncio.Event().wait()  # updates now arrive through the HTTP route
            else:
                await self._retry(lambda: self.bot.delete_webhook(drop_pending_updates=False), "delete the webhook")
                await self.poll()
        except TelegramUnauthorizedError:
            log.error("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather. The bot stays off.")
            await asyncio.Event().wait()  # keep the rest of the assistant running
        finally:
            for task in list(self._tails.values()):
                task.cancel()
            await self.bot.session.close()

    async def _retry(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        delay = 1.0
        while True:
            try:
                return await call()
            except TelegramUnauthorizedError:
                raise
            except Exception as exc:  # noqa: BLE001 - network trouble: wait and retry
                log.warning("could not %s (%s); retrying in %.0f s", what, exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def poll(self) -> None:
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT_S,
                                                     allowed_updates=self.allowed_updates,
                                                     request_timeout=POLL_TIMEOUT_S + 10)
                delay = 1.0
            except TelegramUnauthorizedError:
                raise
            except Exception as exc:  # noqa: BLE001 - 409 from another replica, network …
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            for update in updates:
                offset = update.update_id + 1
                self._schedule(update)

    def _schedule(self, update: Update) -> None:
        """Process updates concurrently across chats, in order within a chat."""
        chat = _chat_id(update)
        previous = self._tails.get(chat)

        async def process() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await self.feed(update)

        task = asyncio.create_task(process())
        self._tails[chat] = task
        task.add_done_callback(lambda t: self._tails.pop(chat, None) if self._tails.get(chat) is t else None)

    async def feed(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:  # noqa: BLE001 - the polite-errors middleware already answered
            log.exception("update %s failed", update.update_id)

    async def feed_raw(self, data: dict) -> None:
        """A webhook update (JSON from Telegram)."""
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except Exception:  # noqa: BLE001 - a malformed update must not make Telegram retry forever
            log.warning("ignored a malformed webhook update")
            return
        await self.feed(update)

    async def claim(self, update_id: int) -> bool:
        """True the first time any replica sees this update."""
        return bool(await self.redis.set(keys.telegram_update(self.bot.id, update_id), "1",
                                         nx=True, ex=keys.SEEN_TTL_S))


def _chat_id(update: Update) -> Any:
    if update.message:
        return update.message.chat.id
    if update.callback_query and update.callback_query.message:
        return update.callback_query.message.chat.id
    return None


class _OncePerUpdate(BaseMiddleware):
    """Drops an update another replica (or a Telegram retry) already took."""

    def __init__(self, channel: TelegramChannel):
        self.channel = channel

    async def __call__(self, handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update) and not await self.channel.claim(event.update_id):
            log.info("update %s already processed; skipped", event.update_id)
            return None
        return await handler(event, data)


class _PoliteErrors(BaseMiddleware):
    """A crash in one handler answers the client politely and never stops the bot."""

    def __init__(self, channel: TelegramChannel):
        self.channel = channel

    async def __call__(self, handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception as exc:  # noqa: BLE001
            chat = _chat_id(event) if isinstance(event, Update) else None
            busy = isinstance(exc, ConversationBusy)
            if busy:
                log.warning("conversation tg:%s busy", chat)
            else:
                log.exception("turn failed in conversation tg:%s", chat)
            if chat is not None:
                with contextlib.suppress(Exception):
                    await self.channel.send(chat, [Reply(kind=ReplyKind.error,
                                                         text=texts.ERROR_BUSY if busy else texts.ERROR_GENERIC,
                                                         buttons=[OPERATOR])])
            return None


# ------------------------------------------------------------ module plug-in
def channel(runtime) -> TelegramChannel | None:
    return runtime.telegram


def set_transcriber(runtime, transcriber: VoiceTranscriber) -> None:
    """For a speech module installed after this one (see bot/modules.py)."""
    if ch := channel(runtime):
        ch.transcriber = transcriber


def install(runtime) -> None:
    if not runtime.settings.telegram_bot_token:
        runtime.telegram = None
        return
    runtime.telegram = TelegramChannel(runtime)
    runtime.outbound.register(CHANNEL, runtime.telegram.deliver)


def routes(app, runtime) -> None:
    ch = channel(runtime)
    if ch is None or not ch.webhook_mode:
        return
    @app.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request):
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), ch.secret.encode()):
            return JSONResponse(status_code=403, content={
                "error": "forbidden",
                "message": "Неверный секрет вебхука: Telegram передаёт его в заголовке "
                           f"{SECRET_HEADER}; он должен совпадать с TELEGRAM_WEBHOOK_SECRET."})
        try:
            data = await request.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            # Processed before answering: Telegram gets 200 only for a handled
            # update, and a retry of it is dropped by the update-id claim.
            await ch.feed_raw(data)
        return {"ok": True}


def background(runtime) -> list:
    ch = channel(runtime)
    return [ch.run()] if ch else []


MODULE = Module("telegram", provides=("telegram",), install=install, routes=routes, background=background)
