"""Is the client asking what the centre can offer them? («какие услуги центра мне
доступны?», «что мне доступно?», «подберите мне услуги»).

The contract's intents (shared with the NLU) have no such request, and Rasa
sends these words to the centre's address; the search is a different thing
from any one knowledge-base topic. So the request is recognised by its
words, narrowly: services *for the client* or the centre's service list —
«какие услуги можно оказывать на патенте» is a tax question and stays one.
"""

from __future__ import annotations

import re

_ASKS = re.compile(
    "|".join(
        (
            # «какие услуги центра мне доступны», «какие у вас есть услуги», «каталог услуг»
            r"\b(?:какие|каталог|список|перечень)\s+(?:у\s+вас\s+(?:есть\s+)?|есть\s+)?(?:\w+\s+)?услуг\w*"
            r"(?:\s+(?:центра|вашего|у\s+вас|вы\b|мне|нам|для\s+меня|для\s+нас|доступн|подход|есть\s+у\s+вас|"
            r"оказывает|предоставляет|вы\s+оказываете)|\s*[?.!]*$)",
            # «подберите мне услуги», «подобрать услугу»
            r"\bподбер\w*\s+(?:мне\s+|нам\s+)?(?:\w+\s+)?услуг|\bподобрать\s+(?:мне\s+)?услуг|\bподбор\s+услуг",
            # «услуги центра мне доступны?»
            r"\bуслуг\w*\s+(?:центра\s+)?(?:мне|нам)\s+(?:доступн|подход|положен)",
            # «что мне доступно?», «что нам подходит», «чем центр может мне помочь»
            # (the whole message: «что мне подходит, УСН или патент?» is a tax question)
            r"\bчто\s+(?:мне|нам)\s+(?:здесь\s+|у\s+вас\s+)?(?:доступно|подходит|положено)"
            r"(?:\s+(?:из\s+ваших\s+услуг|в\s+центре|у\s+вас|как\s+\w+))?\s*[?.!]*$",
            r"\bчто\s+(?:центр|вы)\s+(?:может|можете)\s+(?:мне|нам)\s+предложить",
            r"\bна\s+что\s+(?:я|мы)\s+(?:могу|можем)\s+(?:рассчитывать|претендовать)",
        )
    )
)


def asks_for_services(text: str) -> bool:
    return bool(_ASKS.search(" ".join(text.lower().replace("ё", "е").split())))


# «для ИП», «как самозанятому»: a segment the question is about (not necessarily the client's).
_FOR = (
    ("self_employed", re.compile(r"\b(?:для|как)\s+самозанят\w*")),
    ("ip", re.compile(r"\b(?:для|как)\s+(?:ип\b|индивидуальн\w+\s+предпринимател\w*)")),
    ("sme", re.compile(r"\b(?:для|как)\s+(?:ооо\b|компани\w*|организаци\w*|юрлиц\w*|юридическ\w+\s+лиц\w*)")),
    ("future", re.compile(r"\b(?:для|как)\s+(?:начинающ\w*|будущ\w*)")),
)


def asked_segment(text: str) -> str | None:
    lowered = text.lower().replace("ё", "е")
    return next((segment for segment, pattern in _FOR if pattern.search(lowered)), None)
