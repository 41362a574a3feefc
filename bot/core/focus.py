"""Long messages: find the request wherever it is.

A client may write a long story and put the question at the end («…как мне
перейти на патент?»). One pass over the whole text reads the story (and the
encoder truncates it); instead the sentences are understood one by one and the
most confident request wins. Only the sentences that can carry a request are
read: questions, requests in so many words, and the first and last sentence.
"""

from __future__ import annotations

import re

from razdel import sentenize

from .keywords import action_intents

LONG_MESSAGE = 300  # characters; shorter messages are read whole
MAX_SENTENCES = 6  # read at most this many sentences of one message
_REQUEST = re.compile(
    r"\?|\b(как|где|когда|сколько|можно|нужн\w*|хочу|хотел\w*|подскаж\w*|расскаж\w*|помогите|объясните|"
    r"скажите|запиш\w*|оплат\w*|перезвон\w*|подписа\w*|отпиш\w*|подать|какие|какой|что)\b",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    return [s.text.strip() for s in sentenize(text) if s.text.strip()]


def is_long(text: str) -> bool:
    return len(text) > LONG_MESSAGE and len(sentences(text)) > 1


def request_sentences(text: str) -> list[str]:
    """The sentences of a long message worth reading, the most likely requests first:
    questions and requests in words (the later the likelier), then the last and first."""
    parts = sentences(text)
    asks = [s for s in reversed(parts) if "?" in s or action_intents(s)]
    cues = [s for s in reversed(parts) if _REQUEST.search(s)]
    chosen = list(dict.fromkeys([*asks, *cues, parts[-1], parts[0]]))
    return chosen[:MAX_SENTENCES]
