"""The core's replies as Telegram messages (pure: no I/O, no bot).

The decisions are the shared ones (bot/channels/rendering.py: splitting,
button rows, links vs callbacks, the image-with-caption rule, kind labels);
this module says them in Telegram's terms: core text is HTML-escaped (we send
with parse_mode HTML), lengths are counted in UTF-16 units under the
4096-unit message and 1024-unit caption limits, buttons become an inline
keyboard (callback_data = payload, at most 64 bytes; a link button opens its
URL).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import partial

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.messages import Button, Reply, ReplyKind

from . import rendering
from .rendering import KIND_PREFIX, Piece, button_rows, is_link

# Telegram counts the limit in UTF-16 code units of the text after entity parsing.
TELEGRAM_LIMIT = 4096
CHUNK_LIMIT = 4000
CAPTION_LIMIT = 1000  # Telegram allows 1024 UTF-16 units of caption; a margin
CALLBACK_DATA_MAX_BYTES = 64
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


def split_text(text: str, limit: int = CHUNK_LIMIT) -> list[str]:
    return rendering.split_text(text, limit, utf16_len)


def _usable(b: Button) -> bool:
    return is_link(b) or 0 < len(b.payload.encode()) <= CALLBACK_DATA_MAX_BYTES


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    rows = button_rows(buttons, _usable)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=b.title, url=b.url)
                if is_link(b)
                else InlineKeyboardButton(text=b.title, callback_data=b.payload)
                for b in row
            ]
            for row in rows
        ]
    )


def out_message(piece: Piece) -> OutMessage:
    label = ""
    if piece.first:
        label = OPERATOR_LABEL if piece.kind is ReplyKind.operator else escape(KIND_PREFIX.get(piece.kind, ""))
    return OutMessage(html=label + escape(piece.text), keyboard=keyboard(piece.buttons), photo=piece.image)


_plan = partial(rendering.plan, limit=CHUNK_LIMIT, caption_limit=CAPTION_LIMIT, length=utf16_len)


def render_reply(reply: Reply) -> list[OutMessage]:
    return [out_message(p) for p in _plan(reply)]


def render(replies: list[Reply]) -> list[OutMessage]:
    return [m for r in replies for m in render_reply(r)]
