"""The requests that must work even when the NLU service is down.

Without Rasa the knowledge base still answers questions, but a request for a
person would be lost, and a client who cannot get an answer must always be
able to reach one. These few action intents are recognised by word stems
when the NLU did not answer, and confirm a weak NLU guess where a mistake
would cost the client their place in a form.
"""

from __future__ import annotations

import re

from .messages import Candidate

_STEMS: list[tuple[str, re.Pattern[str]]] = [
    ("request_callback", re.compile(r"перезвон|обратн\w*\s+звон|позвонит\w*\s+мне", re.IGNORECASE)),
    ("ask_operator", re.compile(r"оператор|живо\w*\s+человек|с\s+человеком|сотрудник|специалист|консультант",
                                re.IGNORECASE)),
]


def keyword_intents(text: str) -> list[Candidate]:
    """The first action intent whose stems occur in `text`, as a certain candidate."""
    for intent, stems in _STEMS:
        if stems.search(text):
            return [Candidate(intent=intent, faq_id=None, score=1.0)]
    return []


def asks_for(text: str, intent: str) -> bool:
    """Do the words of `text` name this action (e.g. «оператор» for ask_operator)?"""
    return any(name == intent and stems.search(text) for name, stems in _STEMS)
