"""Rendering decisions every chat channel shares (pure: no I/O, no bot).

A channel (Telegram, MAX, the site widget) turns each core reply into its own
messages, but the decisions are the same everywhere and live here:

- long text is split under the channel's limit at paragraph, line, sentence,
  then word boundaries (`split_text`), never into empty pieces;
- a reply's buttons go under its last piece; a button with a `url` is a link
  (a payment page), every other one sends its payload back (`is_link`);
  buttons share a row while their titles fit, long titles get a row each
  (`button_rows`);
- a reply with an image (a payment QR code) is the image with the text beside
  it when the text fits the channel's caption, otherwise a bare image followed
  by the text (`plan`); a channel that cannot send the image sends the text
  alone, which always carries the same information;
- the kind of a reply gets a light label (🤔 a clarifying question, ⚠️ an
  error, 👤 the operator's words);
- a crash or a busy conversation is answered with a polite error reply that
  offers the operator (`error_reply`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core import texts
from bot.core.messages import Button, Reply, ReplyKind
from bot.store.conversations import ConversationBusy

log = logging.getLogger("channels")

SEPARATORS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")
# Buttons share a row while their titles fit (short yes/no pairs); long topic
# titles get a row each so they are readable on a phone.
ROW_CHARS = 32
ROW_BUTTONS = 3

KIND_PREFIX = {ReplyKind.clarify: "🤔 ", ReplyKind.error: "⚠️ "}
OPERATOR_PREFIX = "👤 Оператор\n"  # plain form; a channel with formatting may bold the word
EMPTY_TEXT = "…"  # messengers refuse an empty message

OPERATOR = Button(title=texts.OPERATOR_BUTTON, payload="do:ask_operator")
START_PAYLOAD = "do:greet"  # the core greets, introduces itself and shows topics

Length = Callable[[str], int]


def _fit(text: str, limit: int, length: Length) -> int:
    """The longest prefix (in characters) whose `length` is within `limit`."""
    if length is len:
        return min(len(text), limit)
    lo, hi = 0, len(text)
    while lo < hi:  # length is monotonic in the prefix
        mid = (lo + hi + 1) // 2
        if length(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_text(text: str, limit: int, length: Length = len) -> list[str]:
    """Plain text in chunks of at most `limit` (as `length` counts), preferring
    natural boundaries; never returns empty chunks."""
    text = text.strip()
    chunks: list[str] = []
    while length(text) > limit:
        window = text[: _fit(text, limit, length)]
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


def is_link(button: Button) -> bool:
    return bool(button.url)


def button_rows(
    buttons: list[Button],
    usable: Callable[[Button], bool] = lambda b: True,
    row_chars: int = ROW_CHARS,
    row_buttons: int = ROW_BUTTONS,
) -> list[list[Button]]:
    """The buttons a channel can show, in rows; [] when there are none."""
    shown = []
    for b in buttons:
        if usable(b):
            shown.append(b)
        else:
            log.warning("button dropped: the channel cannot carry it (%s)", "link" if is_link(b) else "payload")
    rows: list[list[Button]] = []
    row: list[Button] = []
    for b in shown:
        width = sum(len(x.title) for x in row) + len(b.title)
        if row and (width > row_chars or len(row) >= row_buttons):
            rows.append(row)
            row = []
        row.append(b)
    if row:
        rows.append(row)
    return rows


def prefix_of(kind: ReplyKind) -> str:
    return OPERATOR_PREFIX if kind is ReplyKind.operator else KIND_PREFIX.get(kind, "")


@dataclass(frozen=True)
class Piece:
    """One message a channel sends for a reply: a plain-text chunk (the kind's
    label goes before it when `first`), the buttons (on the last piece), an image."""

    text: str
    kind: ReplyKind
    first: bool = False
    buttons: list[Button] = field(default_factory=list)
    image: str | None = None  # URL of an image to show ("" text = the image alone)

    @property
    def labelled(self) -> str:
        """The text with the kind's plain label (for channels without formatting)."""
        return (prefix_of(self.kind) + self.text) if self.first else self.text


def plan(reply: Reply, limit: int, caption_limit: int, length: Length = len) -> list[Piece]:
    """The messages of one reply. `limit` and `caption_limit` count the labelled text."""
    prefix = prefix_of(reply.kind)
    chunks = split_text(reply.text, limit - length(prefix), length) or [""]
    if not (prefix + chunks[0]).strip():
        chunks[0] = EMPTY_TEXT
    pieces = [Piece(text=c, kind=reply.kind, first=i == 0) for i, c in enumerate(chunks)]
    last = pieces[-1]
    pieces[-1] = Piece(text=last.text, kind=last.kind, first=last.first, buttons=list(reply.buttons))
    if reply.image_url:
        if len(pieces) == 1 and length(prefix + reply.text) <= caption_limit:
            only = pieces[0]
            return [Piece(text=only.text, kind=only.kind, first=True, buttons=only.buttons, image=reply.image_url)]
        return [Piece(text="", kind=reply.kind, image=reply.image_url), *pieces]
    return pieces


def plan_all(replies: list[Reply], limit: int, caption_limit: int, length: Length = len) -> list[Piece]:
    return [p for r in replies for p in plan(r, limit, caption_limit, length)]


def error_reply(exc: BaseException) -> Reply:
    """What the client reads when their turn failed: a busy conversation or anything else."""
    busy = isinstance(exc, ConversationBusy)
    return Reply(kind=ReplyKind.error, text=texts.ERROR_BUSY if busy else texts.ERROR_GENERIC, buttons=[OPERATOR])
