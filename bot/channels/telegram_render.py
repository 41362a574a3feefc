"""Pure rendering of the core's replies for Telegram (no I/O, no bot).

Each core reply becomes one or more Telegram messages: core text is HTML-
escaped (we send with parse_mode HTML), split under Telegram's 4096-character
limit at paragraph / line / sentence / word boundaries, and the reply's
buttons become an inline keyboard on the last chunk (callback_data = payload).

A reply with an image (`Reply.image_url`, e.g. a payment QR code) becomes a
photo: with the text as its caption when the text fits Telegram's caption
limit, otherwise a bare photo followed by the text messages. The channel
sends the text alone when the photo cannot be sent.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.messages import Button, Reply, ReplyKind

log = logging.getLogger("channels.telegram")

# Telegram counts the limit in UTF-16 code units of the text after entity
# parsing; we keep a margin for the small label some kinds get.
TELEGRAM_LIMIT = 4096
CHUNK_LIMIT = 4000
CAPTION_LIMIT = 1000  # Telegram allows 1024 UTF-16 units of caption; a margin for the kind prefix
CALLBACK_DATA_MAX_BYTES = 64
# Buttons share a row while their titles fit (short yes/no pairs); long topic
# titles get a row each so they are readable on a phone.
ROW_CHARS = 32
ROW_BUTTONS = 3

# A light touch of emoji per reply kind; core texts carry their own.
KIND_PREFIX = {
    ReplyKind.clarify: "🤔 ",
    ReplyKind.error: "⚠️ ",
}
OPERATOR_LABEL = "👤 <b>Оператор</b>\n"


@dataclass(frozen=True)
class OutMessage:
    html: str  # the text, or the photo's caption ("" = a photo without one)
    keyboard: InlineKeyboardMarkup | None = None
    photo: str | None = None  # URL of an image to send as a photo


def escape(text: str) -> str:
    """Core text is plain: make it inert under parse_mode HTML."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix length (in characters) that fits `limit` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


SEPARATORS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")


def split_text(text: str, limit: int = CHUNK_LIMIT) -> list[str]:
    """Split plain text into chunks of at most `limit` UTF-16 units, preferring
    natural boundaries; never returns empty chunks."""
    text = text.strip()
    chunks: list[str] = []
    while utf16_len(text) > limit:
        window = text[:_fit(text, limit)]
        cut = 0
        for sep in SEPARATORS:
            pos = window.rfind(sep)
            if pos >= len(window) // 2:  # don't produce tiny chunks
                cut = pos + len(sep.rstrip()) if sep.strip() else pos
                break
        if cut <= 0:
            cut = len(window)  # one enormous word: a hard cut is all we can do
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    usable = []
    for b in buttons:
        if len(b.payload.encode()) > CALLBACK_DATA_MAX_BYTES:
            log.warning("button dropped: payload over %d bytes", CALLBACK_DATA_MAX_BYTES)
            continue
        usable.append(InlineKeyboardButton(text=b.title, callback_data=b.payload))
    if not usable:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for b in usable:
        width = sum(len(x.text) for x in row) + len(b.text)
        if row and (width > ROW_CHARS or len(row) >= ROW_BUTTONS):
            rows.append(row)
            row = []
        row.append(b)
    rows.append(row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def render_reply(reply: Reply) -> list[OutMessage]:
    if reply.kind is ReplyKind.operator:
        prefix = OPERATOR_LABEL
    else:
        prefix = escape(KIND_PREFIX.get(reply.kind, ""))
    chunks = split_text(reply.text) or [""]
    messages = [OutMessage(html=escape(c)) for c in chunks]
    messages[0] = OutMessage(html=prefix + messages[0].html)
    if not messages[0].html.strip():
        messages[0] = OutMessage(html="…")  # Telegram refuses empty messages
    messages[-1] = OutMessage(html=messages[-1].html, keyboard=keyboard(reply.buttons))
    if reply.image_url:
        if len(messages) == 1 and utf16_len(KIND_PREFIX.get(reply.kind, "") + reply.text) <= CAPTION_LIMIT:
            return [OutMessage(html=messages[0].html, keyboard=messages[0].keyboard, photo=reply.image_url)]
        return [OutMessage(html="", photo=reply.image_url), *messages]
    return messages


def render(replies: list[Reply]) -> list[OutMessage]:
    return [m for r in replies for m in render_reply(r)]
