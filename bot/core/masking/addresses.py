"""Street addresses: a street (with or without «ул.», «пр-т», …) and a house, flat or office.
A city, region or village alone is not personal data and is left as it is."""

from __future__ import annotations

import re

from .models import word_info
from .spans import Span

_TYPE = (
    r"(?:ул\.?|улиц[аеуы]|пр-к?т\.?|просп\.?|проспект\w*|пер\.?|переул\w*|б-р|бул\.|бульвар\w*|ш\.|шоссе"
    r"|наб\.?|набережн\w*|пл\.|площад\w*|мкр\.?|микрорайон\w*|тупик\w*|проезд\w*|аллея|аллее|кв-л|квартал\w*)"
    r"(?![а-яёА-ЯЁ\-])"
)
_NAME = r"(?:\d{1,3}-(?:го|летия|я|й)\s+)?[А-ЯЁа-яё][А-ЯЁа-яё\-]*"
_HOUSE = r"(?:(?:д\.?|дом)\s*№?\s*)?\d{1,4}(?:\s?[а-яА-Я](?![а-яё]))?(?:\s?[/\-]\s?\d{1,4}[а-я]?)?"
_PART = (
    r"(?:д\.?|дом|корп\.?|корпус|к\.|стр\.?|строение|кв\.?|квартира|оф\.?|офис|пом\.?|помещение|комн\.?|комната|лит\.?)"
)
_TAIL = rf"(?:,?\s*{_PART}\s*№?\s*\d{{1,4}}[а-яА-Я]?(?![\w]))"
_FLAT = r",?\s*(?:кв\.?|квартира|оф\.?|офис|комн\.?|комната)\s*№?\s*\d"
_UNITS_AFTER = re.compile(
    r"\s*(?:%|руб|р\.|₽|тыс|млн|млрд|лет|год|раз|час|мин|дн|день|недел|месяц|мес|чел|"
    r"сотрудник|работник|кв\.?\s?м|м2|м²|шт|км|кг|числ|процент|класс|этаж|штук|мест)",
    re.IGNORECASE,
)
_B = r"(?<![\w\-])"

# The street named with its type: «ул. Ленинская, д. 12», «Красноармейская улица, 18».
_TYPED = re.compile(
    rf"{_B}{_TYPE}\s*{_NAME}(?:\s+{_NAME}){{0,3}},?\s*{_HOUSE}{_TAIL}*(?![\w])"
    rf"|{_B}[А-ЯЁ][а-яё\-]+\s+{_TYPE},?\s*{_HOUSE}{_TAIL}*(?![\w])"
    rf"|{_B}[А-ЯЁ][а-яё\-]+,?\s+(?:д\.|дом)\s*\d{{1,4}}[а-я]?(?:\s?[/\-]\s?\d{{1,4}})?{_TAIL}*(?![\w])"
)
# The street by name alone: «Гагарина 15 кв 3», «Садовая 12-34», «на Ворошилова 31» after «живу».
_BARE = re.compile(
    rf"{_B}(?P<street>(?:{_NAME}\s+)?{_NAME}),?\s+(?P<house>\d{{1,4}}(?:\s?[а-яА-Я](?![а-яё]))?"
    rf"(?P<pair>\s?[/\-]\s?\d{{1,4}}[а-я]?)?)(?P<tail>{_TAIL}*)(?![\w])"
)
_CUE = re.compile(
    r"адрес\w*|\bживу\b|\bживём\b|\bживем\b|проживаю\w*|прописан\w*|прописк\w*|\bдоставк\w*"
    r"|\bдоставьте\b|\bприезжайте\b|регистрац\w* по|зарегистрирован\w* по",
    re.IGNORECASE,
)
_STOP_WORDS = {
    "на",
    "в",
    "по",
    "до",
    "от",
    "с",
    "и",
    "или",
    "за",
    "к",
    "мне",
    "уже",
    "ещё",
    "еще",
    "мой",
    "моя",
    "мое",
    "моё",
    "это",
    "наш",
    "наша",
    "дом",
    "д",
    "кв",
    "квартира",
    "офис",
}


def find(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "адрес") for m in _TYPED.finditer(text)]
    for m in _BARE.finditer(text):
        if any(m.start() < s.end and s.start < m.end() for s in spans) or _UNITS_AFTER.match(text, m.end("house")):
            continue
        street = _street(m.group("street"))
        if street is None:
            continue
        start = m.start() + m.group("street").rindex(street)
        capital = street[0].isupper()
        flat = re.match(_FLAT, m.group("tail") or "") is not None
        cue = _CUE.search(text, max(0, start - 60), start) or _CUE.search(text[m.end() : m.end() + 30])
        if flat or cue or (capital and m.group("pair")):
            spans.append(Span(start, m.end(), "адрес"))
    return spans


def _street(words: str) -> str | None:
    """The street-name part of the words before a house number, if they read as one:
    a genitive (Ленина, Мира, Карла Маркса) or an adjective (Садовая, Тихоокеанская)."""
    parts = words.split()
    last = parts[-1]
    if last.lower() in _STOP_WORDS or not last[0].isalpha() or not word_info(last).gent_or_adj:
        return None
    first = parts[-2] if len(parts) > 1 else ""
    if first.lower() not in _STOP_WORDS and (
        re.fullmatch(r"\d+-\w+", first) or (first[:1].isupper() and last[0].isupper() and word_info(first).gent_or_adj)
    ):
        return f"{first} {last}"  # Карла Маркса, 60-летия Октября
    return last
