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

import asyncio
import contextlib
import functools
import hashlib
import html
import logging
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    LinkPreviewOptions,
    Message,
    TelegramObject,
    Update,
)

from bot.modules import Module
from bot.store import keys

from .messenger import (
    COMMANDS,
    UNSUPPORTED_MEDIA,
    VOICE_HEARD,  # noqa: F401 - re-exported: the channel's words, as tests and docs name them
    VOICE_NOT_RECOGNISED,  # noqa: F401 - re-exported
    VOICE_UNSUPPORTED,  # noqa: F401 - re-exported
    MessengerChannel,
    VoiceTranscriber,
    command_payload,
    fetch_image,
    image_name,
    mount_webhook,
)
from .rendering import OPERATOR, START_PAYLOAD, Piece  # noqa: F401 - re-exported
from .telegram_render import CAPTION_LIMIT, CHUNK_LIMIT, OutMessage, out_message, utf16_len

log = logging.getLogger("channels.telegram")

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")  # a module adds more with `extend`
POLL_TIMEOUT_S = 25
SEND_ATTEMPTS = 3

# What the channel table in the README says of Telegram (tests/test_channels_table.py).
FEATURES = {
    "text": "yes",
    "buttons": "yes, inline keyboard",
    "operator": "yes",
    "notifications": "yes",
    "payments": "QR code as a photo, payment links, Telegram Payments",
    "voice messages": "yes, transcribed",
}


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


class TelegramChannel(MessengerChannel):
    NAME = CHANNEL
    SCHEME = "tg"
    CHUNK_LIMIT = CHUNK_LIMIT
    CAPTION_LIMIT = CAPTION_LIMIT
    TYPING_EVERY_S = 4.0  # Telegram shows «печатает…» for ~5 s per chat action
    UNDELIVERABLE = (TelegramForbiddenError, TelegramBadRequest)
    FATAL = (TelegramUnauthorizedError,)

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        settings = runtime.settings
        self.webhook_mode = bool(settings.telegram_webhook_url)
        self.secret = webhook_secret(settings)
        session = (
            AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
            if settings.telegram_api_base
            else AiohttpSession()
        )
        self.bot = Bot(settings.telegram_bot_token, session=session)
        self.dp = Dispatcher()
        # the first registered is the outermost: a failed turn is answered politely inside the
        # update's claim, so the claim ends as handled (a redelivery is not answered twice)
        self.dp.update.outer_middleware(_OncePerUpdate(self))
        self.dp.update.outer_middleware(_PoliteErrors(self))
        # Other modules' handlers (e.g. Telegram Payments) go ahead of the channel's
        # own router, whose catch-all would otherwise take their updates.
        self.extensions = Router(name="telegram-extensions")
        self.dp.include_router(self.extensions)
        self.dp.include_router(self._router())
        self.allowed_updates: list[str] = list(ALLOWED_UPDATES)

    def extend(self, router: Router, *updates: str) -> None:
        """Another module's handlers, ahead of the channel's own; `updates`: the update
        types they need that the channel does not ask Telegram for by itself."""
        self.extensions.include_router(router)
        self.allowed_updates += [u for u in updates if u not in self.allowed_updates]

    def length(self, text: str) -> int:
        return utf16_len(text)

    # ---------------------------------------------------------------- handlers
    def _router(self) -> Router:
        router = Router(name="telegram")

        @router.message(CommandStart())
        async def start(message: Message) -> None:
            await self.turn(message.chat.id, _user_id(message), payload=START_PAYLOAD)

        @router.message(F.text.startswith("/"))
        async def command(message: Message) -> None:
            await self.turn(message.chat.id, _user_id(message), payload=command_payload(message.text or ""))

        @router.message(F.text)
        async def text(message: Message) -> None:
            await self.turn(message.chat.id, _user_id(message), text=message.text)

        @router.callback_query(F.data)
        async def button(query: CallbackQuery) -> None:
            with contextlib.suppress(Exception):  # only stops the button's spinner
                await query.answer()
            if query.message is None:  # inline-mode message: no chat to answer in
                return
            await self.turn(query.message.chat.id, query.from_user.id, payload=query.data)

        @router.message(F.voice | F.audio | F.video_note)
        async def voice(message: Message) -> None:
            media = message.voice or message.audio or message.video_note
            assert media is not None  # the filter above

            async def recording() -> tuple[bytes, str]:
                buffer = await self.bot.download(media.file_id)
                if buffer is None:
                    raise ValueError("Telegram returned no file")
                return buffer.read(), getattr(media, "mime_type", None) or "audio/ogg"

            await self.voice(message.chat.id, _user_id(message), recording)

        @router.message()
        async def anything_else(message: Message) -> None:
            await self.send_notice(message.chat.id, UNSUPPORTED_MEDIA)

        return router

    # ----------------------------------------------------------------- sending
    async def send_typing(self, chat_id: int) -> None:
        await self.bot.send_chat_action(chat_id, "typing")

    async def send_piece(self, chat_id: int, piece: Piece) -> None:
        await self._send_one(chat_id, out_message(piece))

    async def _send_one(self, chat_id: int, out: OutMessage) -> None:
        """Send honouring flood limits (RetryAfter); fall back to plain text if
        Telegram rejects the HTML (it should not: all core text is escaped).
        A photo that cannot be sent leaves its caption to go as plain text."""
        if out.photo and (await self._send_photo(chat_id, out) or not out.html):
            return
        parse_mode: str | None = "HTML"
        text = out.html
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=parse_mode,
                    reply_markup=out.keyboard,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
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
        assert out.photo is not None  # called for photos only
        photo = await self._photo(out.photo)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.bot.send_photo(
                    chat_id,
                    photo,
                    caption=out.html or None,
                    parse_mode="HTML" if out.html else None,
                    reply_markup=out.keyboard,
                )
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
        """Our image's bytes; the URL itself when they cannot be fetched — Telegram then tries to fetch it."""
        data = await fetch_image(url)
        return BufferedInputFile(data, filename=image_name(url)) if data else url

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
            me = await self.retry(self.bot.get_me, "reach Telegram")
            log.info("Telegram bot @%s is up (%s)", me.username, "webhook" if self.webhook_mode else "polling")
            await self.prepare()
            if self.webhook_mode:
                url = webhook_url(self.runtime.settings)
                await self.retry(
                    lambda: self.bot.set_webhook(url, secret_token=self.secret, allowed_updates=self.allowed_updates),
                    "set the webhook",
                )
                await asyncio.Event().wait()  # updates now arrive through the HTTP route
            else:
                await self.retry(lambda: self.bot.delete_webhook(drop_pending_updates=False), "delete the webhook")
                await self.poll()
        except TelegramUnauthorizedError:
            log.error("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather. The bot stays off.")
            await asyncio.Event().wait()  # keep the rest of the assistant running
        finally:
            self.stop_tails()
            await self.bot.session.close()

    async def poll(self) -> None:
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT_S,
                    allowed_updates=self.allowed_updates,
                    request_timeout=POLL_TIMEOUT_S + 10,
                )
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
                self.schedule(_chat_id(update), functools.partial(self.feed, update))

    async def feed(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            log.exception("update %s failed", update.update_id)

    async def feed_raw(self, data: dict) -> None:
        """A webhook update (JSON from Telegram)."""
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except Exception:  # noqa: BLE001 - a malformed update must not make Telegram retry forever
            log.warning("ignored a malformed webhook update")
            return
        await self.feed(update)

    def update_once(self, update_id: int):
        """`once` for this bot's update (see MessengerChannel.once)."""
        return self.once(keys.telegram_update(self.bot.id, update_id))


def _user_id(message: Message) -> int | None:
    return message.from_user.id if message.from_user else None


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
        if not isinstance(event, Update):
            return await handler(event, data)
        async with self.channel.update_once(event.update_id) as mine:
            if not mine:
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
            await self.channel.polite_error(_chat_id(event) if isinstance(event, Update) else None, exc)
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
    mount_webhook(app, channel(runtime), WEBHOOK_PATH, SECRET_HEADER, "Telegram")


def background(runtime) -> list:
    ch = channel(runtime)
    return [ch.run()] if ch else []


MODULE = Module("telegram", provides=("telegram",), install=install, routes=routes, background=background)
