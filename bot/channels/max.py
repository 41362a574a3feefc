"""MAX messenger channel: an adapter on `maxapi` (MAX Bot API) around the core.

Like Telegram's (bot/channels/telegram.py), and through the same shared parts
(messenger.py: turns, typing, voice, polite errors, update claims, ordering;
rendering.py: what a reply becomes), the adapter turns an update into the
core's `Incoming` and renders the core's replies (max_render.py).

maxapi is used as the Bot API client (every call: /me, /updates,
/subscriptions, /messages, /answers, /chats/{id}/actions, /uploads,
/me/commands) and for its update models; the routing below is ours, so the
update claims, per-chat ordering and polite errors are the same as Telegram's.

Modes (bot.settings):
  no MAX_BOT_TOKEN              the module does nothing
  token, no MAX_WEBHOOK_URL     long polling (GET /updates) from `background()`;
                                webhook subscriptions are removed first (MAX
                                delivers one way at a time)
  token + MAX_WEBHOOK_URL       subscribed at {MAX_WEBHOOK_URL}/max/webhook; MAX
                                POSTs updates there with X-Max-Bot-Api-Secret

Updates: `bot_started` (the «Начать» button) greets; `message_created` with
text (or a /command) is a turn; a voice message is transcribed; other media
get a friendly note; `message_callback` is a button press (answered at once,
then a turn). Several replicas may run at once: every update is claimed once
in Redis (bot/channels/keys.py `max_update`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import mimetypes
from typing import Any

import httpx
from maxapi import Bot
from maxapi.client.default import DefaultConnectionProperties
from maxapi.enums.sender_action import SenderAction
from maxapi.enums.update import UpdateType
from maxapi.enums.upload_type import UploadType
from maxapi.exceptions.max import InvalidToken, MaxApiError, MaxConnection, MaxUploadFileFailed
from maxapi.types.command import BotCommand
from maxapi.types.input_media import InputMediaBuffer
from maxapi.types.updates import UpdateUnionAdapter
from maxapi.types.updates.bot_started import BotStarted
from maxapi.types.updates.message_callback import MessageCallback
from maxapi.types.updates.message_created import MessageCreated

from bot.modules import Module

from . import keys as channel_keys
from .max_render import CAPTION_LIMIT, CHUNK_LIMIT, keyboard
from .messenger import (
    COMMANDS,
    UNSUPPORTED_MEDIA,
    VOICE_MAX_BYTES,
    MessengerChannel,
    command_payload,
    fetch_image,
    image_name,
    mount_webhook,
)
from .rendering import START_PAYLOAD, Piece

log = logging.getLogger("channels.max")

CHANNEL = "max"
WEBHOOK_PATH = "/max/webhook"
SECRET_HEADER = "X-Max-Bot-Api-Secret"
UPDATE_TYPES = tuple(UpdateType(t) for t in ("message_created", "message_callback", "bot_started"))
POLL_TIMEOUT_S = 25
SEND_ATTEMPTS = 3
CALLBACK_ANSWER = "Принято"  # the short note MAX shows when a button is pressed

# What the channel table in the README says of MAX (tests/test_channels_table.py).
FEATURES = {
    "text": "yes",
    "buttons": "yes, inline keyboard",
    "operator": "yes",
    "notifications": "yes",
    "payments": "QR code as an image, payment links",
    "voice messages": "yes, transcribed (or MAX's own transcript)",
}


class ChatUnavailable(Exception):
    """MAX refuses to deliver to the chat (the user stopped the bot, the chat is gone)."""


def webhook_secret(settings) -> str:
    """MAX_WEBHOOK_SECRET, or one derived from the token (MAX allows 5–256 of [A-Za-z0-9_-])."""
    if settings.max_webhook_secret:
        return settings.max_webhook_secret
    return hashlib.sha256(f"max-webhook:{settings.max_bot_token}".encode()).hexdigest()


def webhook_url(settings) -> str:
    return settings.max_webhook_url.rstrip("/") + WEBHOOK_PATH


def launcher_note(settings) -> str:
    """One line for the launcher banner."""
    if not settings.max_bot_token:
        return "off — set MAX_BOT_TOKEN to turn it on (MAX_WEBHOOK_URL for webhook mode)"
    if settings.max_webhook_url:
        return f"on — webhook {webhook_url(settings)}"
    return "on — long polling (set MAX_WEBHOOK_URL for webhook mode)"


def update_key(update: Any) -> str:
    """What makes an update unique (MAX updates have no id of their own)."""
    if isinstance(update, MessageCreated):
        return f"m:{update.message.body.mid if update.message.body else update.timestamp}"
    if isinstance(update, MessageCallback):
        return f"c:{update.callback.callback_id}"
    return f"{update.update_type}:{getattr(update, 'chat_id', '')}:{update.timestamp}"


def chat_of(update: Any) -> int | None:
    if isinstance(update, MessageCreated):
        return update.message.recipient.chat_id
    if isinstance(update, MessageCallback):
        return update.message.recipient.chat_id if update.message else None
    return getattr(update, "chat_id", None)


class MaxChannel(MessengerChannel):
    NAME = CHANNEL
    SCHEME = "max"
    CHUNK_LIMIT = CHUNK_LIMIT
    CAPTION_LIMIT = CAPTION_LIMIT
    TYPING_EVERY_S = 4.0
    UNDELIVERABLE = (ChatUnavailable,)
    FATAL = (InvalidToken,)

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        settings = runtime.settings
        self.webhook_mode = bool(settings.max_webhook_url)
        self.secret = webhook_secret(settings)
        # A long poll holds the request POLL_TIMEOUT_S: the client waits longer than that.
        self.bot = Bot(
            settings.max_bot_token,
            auto_requests=False,
            auto_check_subscriptions=False,
            default_connection=DefaultConnectionProperties(timeout=POLL_TIMEOUT_S + 15, sock_connect=10),
        )
        if settings.max_api_base:
            self.bot.set_api_url(settings.max_api_base)
        # MAX tokens carry no bot id: updates are claimed under a hash of the token.
        self.bot_key = hashlib.sha256(settings.max_bot_token.encode()).hexdigest()[:12]
        self.marker: int | None = None

    # ---------------------------------------------------------------- updates
    def parse(self, data: dict) -> Any | None:
        try:
            return UpdateUnionAdapter.validate_python(data)
        except Exception:  # noqa: BLE001 - an update type we do not handle, or a malformed one
            log.info("ignored a MAX update of type %s", str(data.get("update_type", "?"))[:40])
            return None

    def claim_key(self, update: Any) -> str:
        """The Redis key an update is claimed under (MAX updates have no id: a hash of it)."""
        return channel_keys.max_update(self.bot_key, hashlib.sha256(update_key(update).encode()).hexdigest()[:32])

    async def feed(self, update: Any) -> None:
        """One update: claimed once across replicas, then handled; a failure is answered politely."""
        async with self.once(self.claim_key(update)) as mine:
            if not mine:
                log.info("MAX update already processed; skipped")
                return
            try:
                await self.handle(update)
            except Exception as exc:  # noqa: BLE001
                await self.polite_error(chat_of(update), exc)

    async def feed_raw(self, data: dict) -> None:
        """A webhook update (JSON from MAX)."""
        update = self.parse(data)
        if update is not None:
            await self.feed(update)

    async def handle(self, update: Any) -> None:
        if isinstance(update, BotStarted):
            await self.turn(update.chat_id, update.user.user_id, payload=START_PAYLOAD)
        elif isinstance(update, MessageCallback):
            await self.pressed(update)
        elif isinstance(update, MessageCreated):
            await self.message(update)

    async def pressed(self, update: MessageCallback) -> None:
        with contextlib.suppress(Exception):  # only acknowledges the press
            await self.bot.send_callback(update.callback.callback_id, notification=CALLBACK_ANSWER)
        chat = chat_of(update)
        if chat is None or not update.callback.payload:  # the message with the keyboard is gone
            return
        await self.turn(chat, update.callback.user.user_id, payload=update.callback.payload)

    async def message(self, update: MessageCreated) -> None:
        message = update.message
        if message.sender is not None and message.sender.is_bot:
            return
        chat = message.recipient.chat_id
        if chat is None:  # not addressed to a chat the bot can answer
            return
        user = message.sender.user_id if message.sender else None
        body = message.body
        text = (body.text or "").strip() if body else ""
        audio = next((a for a in (body.attachments or []) if a.type == "audio"), None) if body else None
        if text:
            payload = command_payload(text)
            await self.turn(chat, user, text=None if payload else text, payload=payload)
        elif audio is not None:
            url = getattr(audio.payload, "url", None)

            async def recording() -> tuple[bytes, str]:
                return await self._download(url), mimetypes.guess_type(url or "")[0] or "audio/ogg"

            await self.voice(chat, user, recording, heard_by_platform=getattr(audio, "transcription", None))
        else:
            await self.send_notice(chat, UNSUPPORTED_MEDIA)

    async def _download(self, url: str | None) -> bytes:
        if not url:
            return b""
        async with httpx.AsyncClient(timeout=30) as http:
            resp = await http.get(url)
        resp.raise_for_status()
        return resp.content[:VOICE_MAX_BYTES]

    # ----------------------------------------------------------------- sending
    async def send_typing(self, chat_id: int) -> None:
        await self.bot.send_action(chat_id=chat_id, action=SenderAction.TYPING_ON)

    async def send_piece(self, chat_id: int, piece: Piece) -> None:
        """Text, keyboard and image in one message. An image that cannot be uploaded or
        attached leaves the text to go alone (it carries the same information)."""
        text = piece.labelled or None
        buttons = keyboard(piece.buttons)
        image = await self._upload(piece.image) if piece.image else None
        if piece.image and image is None and text is None:
            return  # a bare image that cannot be sent: the text follows in the next message
        attachments = [a for a in (image, buttons) if a is not None]
        try:
            await self._send(chat_id, text, attachments)
        except (MaxApiError, RuntimeError) as exc:
            if image is None or isinstance(exc, ChatUnavailable):
                raise
            log.warning("image not attached for max:%s (%s); sending the text alone", chat_id, exc.__class__.__name__)
            if text:
                await self._send(chat_id, text, [buttons] if buttons else [])

    async def _send(self, chat_id: int, text: str | None, attachments: list[Any]) -> None:
        """POST /messages, waiting out rate limits (429)."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.bot.send_message(
                    chat_id=chat_id,
                    text=text,
                    attachments=attachments or None,
                    disable_link_preview=True,
                    sleep_after_input_media=False,
                )
                return
            except MaxApiError as exc:
                if exc.code in (403, 404):
                    raise ChatUnavailable(f"HTTP {exc.code}") from exc
                if exc.code != 429 or attempt == SEND_ATTEMPTS:
                    raise
                log.warning("MAX rate limit: waiting %s s before sending to max:%s", attempt, chat_id)
                await asyncio.sleep(attempt)

    async def _upload(self, url: str) -> Any | None:
        """Our image uploaded to MAX (POST /uploads, then the file), or None."""
        data = await fetch_image(url)
        if data is None:
            return None
        try:
            return await self.bot.upload_media(
                InputMediaBuffer(buffer=data, filename=image_name(url).rsplit(".", 1)[0], type=UploadType.IMAGE)
            )
        except (MaxApiError, MaxUploadFileFailed, MaxConnection, OSError) as exc:
            log.warning("image not uploaded to MAX (%s)", exc.__class__.__name__)
            return None

    # ---------------------------------------------------------------- running
    async def prepare(self) -> None:
        """The commands menu; a failure here must never stop the bot."""
        try:
            await self.bot.set_commands(
                *(BotCommand(name=name, description=title) for name, (_, title) in COMMANDS.items())
            )
        except Exception as exc:  # noqa: BLE001
            log.warning("could not set the MAX commands menu: %s", exc.__class__.__name__)

    async def run(self) -> None:
        """The background job: the webhook subscription or long polling, until cancelled."""
        try:
            me = await self.retry(self.bot.get_me, "reach MAX")
            log.info(
                "MAX bot %s is up (%s)",
                getattr(me, "username", None) or "",
                "webhook" if self.webhook_mode else "polling",
            )
            await self.prepare()
            if self.webhook_mode:
                url = webhook_url(self.runtime.settings)
                await self.retry(
                    lambda: self.bot.subscribe_webhook(url, update_types=list(UPDATE_TYPES), secret=self.secret),
                    "subscribe the webhook",
                )
                await asyncio.Event().wait()  # updates now arrive through the HTTP route
            else:
                await self.retry(self.bot.delete_webhook, "remove webhook subscriptions")
                await self.poll()
        except InvalidToken:
            log.error("MAX rejected MAX_BOT_TOKEN; check it on business.max.ru. The MAX bot stays off.")
            await asyncio.Event().wait()  # keep the rest of the assistant running
        finally:
            self.stop_tails()
            await self.bot.close_session()

    async def poll(self) -> None:
        delay = 1.0
        while True:
            try:
                data = await self.bot.get_updates(marker=self.marker, timeout=POLL_TIMEOUT_S, types=list(UPDATE_TYPES))
                delay = 1.0
            except InvalidToken:
                raise
            except Exception as exc:  # noqa: BLE001 - network trouble, 429, 5xx …
                log.warning("MAX getUpdates failed (%s); retrying in %.0f s", exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            for raw in data.get("updates") or []:
                update = self.parse(raw) if isinstance(raw, dict) else None
                if update is not None:
                    self.schedule(chat_of(update), functools.partial(self.feed, update))
            if data.get("marker") is not None:
                self.marker = data["marker"]


# ------------------------------------------------------------ module plug-in
def channel(runtime) -> MaxChannel | None:
    return runtime.max


def install(runtime) -> None:
    if not runtime.settings.max_bot_token:
        runtime.max = None
        return
    runtime.max = MaxChannel(runtime)
    runtime.outbound.register(CHANNEL, runtime.max.deliver)


def routes(app, runtime) -> None:
    mount_webhook(app, channel(runtime), WEBHOOK_PATH, SECRET_HEADER, "MAX")


def background(runtime) -> list:
    ch = channel(runtime)
    return [ch.run()] if ch else []


MODULE = Module("max", provides=("max",), install=install, routes=routes, background=background)
