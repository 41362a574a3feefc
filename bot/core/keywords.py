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
    (
        "ask_operator",
        re.compile(r"оператор|живо\w*\s+человек|с\s+человеком|сотрудник|специалист|консультант", re.IGNORECASE),
    ),
]


# Requests for an action the assistant performs, said in so many words. A message
# that holds one beside an informational question must not lose it (issue 18):
# the understander lists them in `Understanding.actions`.
_ACTIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "book_appointment",
        re.compile(
            r"запиш\w*\s+(меня\s+|нас\s+)?на\s+(\w+\s+)?(консультаци|при[её]м|встреч)|записать\w*\s+на\s+(\w+\s+)?(консультаци|при[её]м)",
            re.I,
        ),
    ),
    (
        "pay_fee",
        re.compile(r"(оплатить|заплатить|оплачу|оплачивать)\s+(\w+\s+){0,2}(пошлин|госпошлин|сбор|услуг)", re.I),
    ),
    (
        "start_application",
        re.compile(r"(подать|оформить|заполнить|отправить)\s+(\w+\s+){0,2}(заявк|заявлени|анкет)", re.I),
    ),
    ("revoke_consent", re.compile(r"отпиш\w*|отписать\w*|не\s+присылай\w*", re.I)),
    (
        "give_consent",
        re.compile(
            r"подпиш\w*\s+(меня\s+)?на\s+(уведомлени|рассылк|новост)|подписать\w*\s+на\s+(уведомлени|рассылк|новост)",
            re.I,
        ),
    ),
    ("request_callback", _STEMS[0][1]),
]


# «как подать заявление на Госуслугах?», «какими способами можно заплатить пошлину?»,
# «не могу подать заявление»: asking about an action is a question, not a request.
_ASKS_ABOUT = re.compile(
    r"\b(как|где|когда|каким|какими|какой|можно|нельзя|почему|зачем|сколько|куда|не\s+могу|не\s+получается)\b",
    re.IGNORECASE,
)
_CLAUSE_START = re.compile(r"[.?!,;:]|\bи\b|\bа\b", re.IGNORECASE)


def action_intents(text: str) -> list[str]:
    """Action intents requested in so many words in `text`, in the order of the table
    (not those only asked about: «как записаться на консультацию?» is a question)."""
    found = []
    for intent, pattern in _ACTIONS:
        for match in pattern.finditer(text):
            clause = _CLAUSE_START.split(text[: match.start()])[-1]
            if not _ASKS_ABOUT.search(clause):
                found.append(intent)
                break
    return found


def keyword_intents(text: str) -> list[Candidate]:
    """The first action intent whose stems occur in `text`, as a certain candidate."""
    for intent, stems in _STEMS:
        if stems.search(text):
            return [Candidate(intent=intent, faq_id=None, score=1.0)]
    return []


def asks_for(text: str, intent: str) -> bool:
    """Do the words of `text` name this action (e.g. «оператор» for ask_operator)?"""
    return any(name == intent and stems.search(text) for name, stems in _STEMS)
