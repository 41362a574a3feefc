"""The core's replies as MAX messages (pure: no I/O, no bot).

The decisions are the shared ones (bot/channels/rendering.py); this module
says them in MAX's terms (Bot API, NewMessageBody): plain text (no `format`,
so nothing in core text is taken for markup) under the 4000-character limit,
buttons as an `inline_keyboard` attachment — `callback` buttons carry the
payload back, `link` buttons open a payment page — within MAX's keyboard
limits, the image (a payment QR code) as an `image` attachment of the same
message, beside its text.
"""

from __future__ import annotations

from maxapi.types.attachments.attachment import Attachment, ButtonsPayload
from maxapi.types.attachments.buttons import CallbackButton, LinkButton

from bot.core.messages import Button, Reply

from .rendering import Piece, button_rows, is_link, plan_all

MAX_TEXT = 4000  # NewMessageBody.text maxLength (the library wants fewer)
CHUNK_LIMIT = 3900
CAPTION_LIMIT = CHUNK_LIMIT  # the image is an attachment of a normal message: the whole text fits beside it
BUTTON_TEXT_MAX = 128
CALLBACK_PAYLOAD_MAX_BYTES = 1024
LINK_URL_MAX = 2048
KEYBOARD_ROWS_MAX = 30  # MAX: up to 30 rows of up to 7 buttons (3 when a row has a link), 210 in all


def _usable(b: Button) -> bool:
    if is_link(b):
        return len(b.url or "") <= LINK_URL_MAX
    return 0 < len(b.payload.encode()) <= CALLBACK_PAYLOAD_MAX_BYTES


def _title(text: str) -> str:
    return text if len(text) <= BUTTON_TEXT_MAX else text[: BUTTON_TEXT_MAX - 1] + "…"


def keyboard(buttons: list[Button]) -> Attachment | None:
    """The inline keyboard attachment, or None when there is nothing to press."""
    rows = button_rows(buttons, _usable)[:KEYBOARD_ROWS_MAX]  # ROW_BUTTONS (3) fits every row limit
    if not rows:
        return None
    return ButtonsPayload(
        buttons=[
            [
                LinkButton(text=_title(b.title), url=b.url)
                if is_link(b)
                else CallbackButton(text=_title(b.title), payload=b.payload)
                for b in row
            ]
            for row in rows
        ]
    ).pack()


def pieces(replies: list[Reply]) -> list[Piece]:
    return plan_all(replies, CHUNK_LIMIT, CAPTION_LIMIT)
