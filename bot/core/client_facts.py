"""What a client says about themselves in passing (R-5, R-6): their segment.

«я самозанятый фотограф, как платить налоги?» is a tax question, but it also
says who is asking; the answer and every later one should fit. A segment is
taken only when the client speaks about themselves («я ИП», «у нас ООО»,
«думаю открыть своё дело»): «как открыть ИП» names ИП as a subject and says
nothing about the client. A negation right before the word («я не ИП») keeps
the profile as it is. The segment is no personal data (it names a group, not
a person), so it is kept in the profile without a consent.
"""

from __future__ import annotations

import re

from knowledge_base.models import Segment

_GAP = r"(?:[\w-]+\s+){0,2}?"  # up to two words in between («я уже давно ИП»)
_OWN = r"(?:есть\s+|сво[ёея]\s+|сво[йи]\s+|небольш\w+\s+|маленьк\w+\s+)*"

_SELF = [
    (
        Segment.self_employed,
        re.compile(
            rf"\b(?:я|мы)\s+{_GAP}самозанят\w*|\b(?:работаю|оформлен\w*|зарегистрирован\w*)\s+{_GAP}"
            r"(?:как\s+)?самозанят\w*|\bя\s+(?:[\w-]+\s+){0,2}?плательщи\w*\s+нпд|\bплачу\s+нпд",
        ),
    ),
    (
        Segment.ip,
        re.compile(
            rf"\b(?:я|у\s+меня\s+{_OWN}|являюсь|работаю\s+как|оформлен\w*\s+как|зарегистрирован\w*\s+как)\s*{_GAP}"
            r"(?:ип(?:шни\w*|эшни\w*|ешни\w*)?\b|индивидуальн\w+\s+предпринимател\w*)",
        ),
    ),
    (
        Segment.sme,
        re.compile(
            rf"\b(?:у\s+(?:меня|нас)\s+{_OWN}|мы\s+{_GAP}|я\s+(?:директор|владел\w+|учредител\w+|руководител\w+)\s+"
            rf"{_OWN})(?:ооо\b|ао\b|компани\w*|фирм\w*|организаци\w*|мал\w+\s+предприяти\w*|"
            r"средн\w+\s+предприяти\w*|микропредприяти\w*)|\bруковожу\s+(?:ооо\b|компани\w*|фирм\w*|мал\w+\s+предприяти\w*)",
        ),
    ),
    (
        Segment.future,
        re.compile(
            r"\b(?:думаю|планирую|хочу|собираюсь|мечтаю|решил\w*|задумал\w*|подумываю)\s+(?:[\w-]+\s+){0,2}?"
            r"(?:открыть|начать|запустить|завести|зарегистрировать)\s+(?:[\w-]+\s+){0,1}?"
            r"(?:сво[ёеи]\s+|собственн\w+\s+|небольш\w+\s+)?(?:дело|бизнес\w*|ип\b|ооо\b|фирм\w*|компани\w*)"
            r"|\bбудущ\w+\s+предпринимател\w*|\bначинающ\w+\s+предпринимател\w*|\bпока\s+не\s+зарегистрирован\w*",
        ),
    ),
]
_NEGATED = re.compile(r"\bне\s+$")


def segment_mentioned(text: str) -> Segment | None:
    """The segment the client gives for themselves in `text`, if any (the first said)."""
    lowered = text.lower().replace("ё", "е")
    found: list[tuple[int, Segment]] = []
    for segment, pattern in _SELF:
        for match in pattern.finditer(lowered):
            if _negated(lowered, match):
                continue
            found.append((match.start(), segment))
            break
    return min(found, key=lambda item: item[0])[1] if found else None


def _negated(text: str, match: re.Match[str]) -> bool:
    """«я не ИП», «у нас не ООО»: the word right before the segment's noun is «не»."""
    noun = match.group(0).split()[-1]
    before = text[match.start() : match.end() - len(noun)]
    return bool(_NEGATED.search(before))


def replaces(current: str | None, mentioned: Segment) -> bool:
    """Whether a mention replaces the profile's segment: «хочу открыть ООО» from a client
    known as an ИП is a plan, not a new status; any other mention is what they are now."""
    return not (mentioned is Segment.future and current in {Segment.ip.value, Segment.sme.value})
