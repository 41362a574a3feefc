"""Number-shaped personal data: dates of birth and of issue, passport details, and every
run of 7+ digits (phones, ИНН, ОГРН, СНИЛС, cards, accounts…) — and the numbers that are
not personal data and must survive (amounts, deadlines, ОКВЭД and other public codes,
law and form numbers, year ranges)."""

from __future__ import annotations

import re
from datetime import date

from bot.core.texts import MONTHS

from .spans import Span, blank, overlaps

_DATE = re.compile(
    r"(?<![\d.,])(?:(?P<d>\d{1,2})\s?[./](?P<m>\d{1,2})\s?[./](?P<y>\d{4}|\d{2})"
    r"|(?P<d2>\d{1,2})-(?P<m2>\d{1,2})-(?P<y2>\d{4})"
    r"|(?P<iy>(?:19|20)\d{2})-(?P<im>\d{2})-(?P<id>\d{2})"
    rf"|(?P<wd>\d{{1,2}})\s+(?P<wm>{'|'.join(MONTHS)})(?![а-яё])(?:\s+(?P<wy>\d{{4}}))?)(?![\d]|[.,/]\d)",
    re.IGNORECASE,
)
_BIRTH_YEAR = re.compile(
    r"(?<!\d)(?:19|20)\d{2}(?=\s*(?:г\.?\s*р\.?|года?\s+рожд|г\.\s*рожд))"
    r"|(?<=рождения)\s*:?\s*(?:19|20)\d{2}(?!\d)|(?<=родился в )(?:19|20)\d{2}(?!\d)"
    r"|(?<=родилась в )(?:19|20)\d{2}(?!\d)",
    re.IGNORECASE,
)
# A date is a person's when something near it says so (birth, a document's issue);
# a full date long past is almost always a birth date in what clients write, unless it
# reads as the start or end of something («работаю с 15.03.2008»).
_BIRTH_CUE = re.compile(r"рожд|родил|\bд\.?\s?р\b\.?|\bдр\b|выдан|выдач|г\.\s?р\.", re.IGNORECASE)
_BIRTH_AFTER = re.compile(r"\s*(?:г\.?\s*р\.?|года?\s+рожд|г\.\s*рожд)", re.IGNORECASE)
_EVENT_BEFORE = re.compile(r"(?:\b(?:с|со|от|до|по|после|начиная с|since|until|к)\s*)$", re.IGNORECASE)
ADULT_YEARS = 14

_UNIT = (
    r"(?:руб\w*|р\.|₽|rub|тыс\w*|т\.\s?р\.|млн|млрд|коп\w*|\$|€|евро|долл\w*|%|процент\w*"
    r"|кв\.?\s?м\b|м2|м²|шт\b|кг\b|км\b|тонн\w*)"
)
_PROTECTED = re.compile(
    rf"(?<!\d)\d{{1,3}}(?:[ \u00a0]\d{{3}})+(?:[.,]\d+)?(?=\s*{_UNIT})"  # 1 500 000 рублей
    rf"|(?<!\d)\d+(?:[.,]\d+)?(?=\s*{_UNIT})"  # 2400000 рублей, 15%
    r"|(?:сумм\w*|стоимост\w*|цен\w*|доход\w*|выручк\w*|оборот\w*|кредит\w*|за[её]м\w*|грант\w*|субсиди\w*"
    r"|лимит\w*|прибыл\w*|расход\w*|зарплат\w*|оклад\w*|недоимк\w*|долг\w*|штраф\w*)\s*:?\s*"
    r"(?:до|от|в|на|около|более|менее|свыше|не более)?\s*\d{1,3}(?:[ \u00a0]\d{3})+"  # доход 2 400 000
    # public codes: budget classification, territory, bank, activity and product classifiers
    r"|\b(?:КБК|ОКТМО|ОКАТО|БИК|ОКВЭД\s?2?|ОКПД\s?2?|ТН\s?ВЭД)\s*:?\s*№?\s*\d[\d .\-]*\d"
    r"|\d+\s?-\s?ФЗ|(?<!\d)(?:19|20)\d{2}\s?[-–—]\s?(?:19|20)\d{2}(?!\d)",  # laws, year ranges
    re.IGNORECASE,
)

_PASSPORT_CUE = re.compile(r"паспорт\w*|\bсери[яи]\b|\bкод\w*\s+подразделени\w*", re.IGNORECASE)
# Words that may stand between the cue and the digits («паспорт гражданина РФ серия … номер …»).
_PASSPORT_FILLER = re.compile(
    r"(?:[\s,:;.№#\-–—]+|(?:серия|серии|номер|номера|и|код|подразделения|паспорта?|паспортные|данные"
    r"|гражданина|рф|россии|мой|моего|n|no)\b)",
    re.IGNORECASE,
)
_PASSPORT_DIGITS = re.compile(r"\d(?:[ \-]?\d)*")

_SEP = r"[ \u00a0\t\-–—./()]"
_THOUSANDS = re.compile(r"\d{1,3}(?:[ \u00a0]\d{3})+")
_RUN = re.compile(rf"(?:\+\s?)?(?:\(\s?)?(?<!\d)\d(?:{_SEP}{{0,3}}\d)*")
_KIND_CUES = [
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in [
        ("инн", r"\bинн"),
        ("огрн", r"\bогрн\w*"),
        ("снилс", r"\bснилс"),
        ("карта", r"\bкарт\w*"),
        ("счёт", r"\bсч[её]т\w*|\bр\s?[/\\]\s?с\b|\bрасч[её]тн\w*|\bлицев\w*"),
        ("паспорт", r"паспорт\w*|\bсери[яи]\b"),
        (
            "телефон",
            r"\bтел\b\.?|телефон\w*|\bномер\w*|звон\w*|\bсотов\w*|\bмобильн\w*|whats\s?app|ватсап\w*"
            r"|вайбер\w*|viber|\bтг\b|телеграм\w*|\bсвяз\w*",
        ),
    ]
]
_PHONE_CUE = re.compile(
    r"(?:\bтел\b\.?|телефон\w*|\bгородск\w*|\bрабоч\w*|\bсотов\w*|звон\w*)[\s:.\-]*$", re.IGNORECASE
)


def find(text: str, taken: list[Span], numeric_default: str | None = None) -> list[Span]:
    """Number-shaped personal data in `text`, outside the spans already `taken`.
    `numeric_default` names the kind of a digit run whose kind neither a cue nor its
    shape tells (payload ids)."""
    dates, harmless = _dates(text)
    spans = [s for s in dates if not overlaps(s, taken)]
    work = blank(text, [*taken, *spans, *harmless])  # found and harmless numbers are out of the way
    spans += _passport(work)
    work = blank(work, spans)
    work = blank(work, [m.span() for m in _PROTECTED.finditer(work)])
    spans += _runs(work, numeric_default)
    spans += _spelled(work, numeric_default)
    return spans


def _dates(text: str) -> tuple[list[Span], list[tuple[int, int]]]:
    spans, harmless = [], []
    this_year = date.today().year
    for m in _DATE.finditer(text):
        day, month, year = _parts(m)
        if not (1 <= day <= 31 and 1 <= month <= 12):
            continue
        if year is not None and year < 100:
            year += 1900 if year > this_year % 100 else 2000
        before = text[max(0, m.start() - 40) : m.start()]
        before = re.split(r"[.!?;\n](?:\s|$)", before)[-1]  # the same sentence only
        cued = _BIRTH_CUE.search(before) or _BIRTH_AFTER.match(text, m.end())
        old = year is not None and year <= this_year - ADULT_YEARS and not _EVENT_BEFORE.search(before)
        if cued or old:
            spans.append(Span(m.start(), m.end(), "дата"))
        else:
            harmless.append(m.span())
    for m in _BIRTH_YEAR.finditer(text):
        start = m.start() + len(m.group()) - len(m.group().lstrip(" :"))
        if not any(s.start <= start < s.end for s in spans):
            spans.append(Span(start, m.end(), "дата"))
    return spans, harmless


def _parts(m: re.Match[str]) -> tuple[int, int, int | None]:
    g = m.groupdict()
    if g["d"]:
        return int(g["d"]), int(g["m"]), int(g["y"])
    if g["d2"]:
        return int(g["d2"]), int(g["m2"]), int(g["y2"])
    if g["iy"]:
        return int(g["id"]), int(g["im"]), int(g["iy"])
    return int(g["wd"]), MONTHS.index(g["wm"].lower()) + 1, int(g["wy"]) if g["wy"] else None


def _passport(text: str) -> list[Span]:
    spans = []
    for cue in _PASSPORT_CUE.finditer(text):
        pos, limit = cue.end(), min(len(text), cue.end() + 60)
        while pos < limit:
            if m := _PASSPORT_DIGITS.match(text, pos):
                if 2 <= sum(c.isdigit() for c in m.group()) <= 10:
                    spans.append(Span(m.start(), m.end(), "паспорт"))
                pos = m.end()
            elif m := _PASSPORT_FILLER.match(text, pos):
                pos = m.end()
            else:
                break
    return spans


def _runs(work: str, numeric_default: str | None) -> list[Span]:
    spans = []
    for m in _RUN.finditer(work):
        digits = re.sub(r"\D", "", m.group())
        before = work[max(0, m.start() - 40) : m.start()]
        before = re.split(r"[\d\x00]", before)[-1]  # cues after the previous number only
        cued = any(pattern.search(before) for _, pattern in _KIND_CUES)
        if _THOUSANDS.fullmatch(m.group()) and len(digits) <= 10 and not cued:
            continue  # «контракт на 2 000 000 юаней»: grouped by thousands, an amount
        if len(digits) >= 7:
            spans.append(Span(m.start(), m.end(), _kind(digits, m.group(), before, numeric_default)))
        elif len(digits) >= 5 and _PHONE_CUE.search(before):
            spans.append(Span(m.start(), m.end(), "телефон"))  # a city number: 45-67-89
    return spans


def _kind(digits: str, raw: str, before: str, numeric_default: str | None) -> str:
    cued = [(m.end(), kind) for kind, pattern in _KIND_CUES for m in pattern.finditer(before)]
    if cued:
        return max(cued)[1]  # the nearest cue
    if (len(digits) == 11 and digits[0] in "78") or (len(digits) == 10 and digits[0] == "9"):
        return "телефон"
    if numeric_default:
        return numeric_default
    return {10: "инн", 12: "инн", 13: "огрн", 15: "огрн", 11: "снилс", 20: "счёт"}.get(
        len(digits), "карта" if 16 <= len(digits) <= 19 else "номер"
    )


# Numbers in words, as speech recognition writes them: «восемь девятьсот четырнадцать сто
# двадцать три сорок пять шестьдесят семь» is a phone number.
_UNITS = dict(zip(["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"], range(10)))
_UNITS.update({"нуль": 0, "одна": 1, "две": 2})
_TEENS = dict(
    zip(
        [
            "десять",
            "одиннадцать",
            "двенадцать",
            "тринадцать",
            "четырнадцать",
            "пятнадцать",
            "шестнадцать",
            "семнадцать",
            "восемнадцать",
            "девятнадцать",
        ],
        range(10, 20),
    )
)
_TENS = dict(
    zip(
        ["двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"],
        range(20, 100, 10),
    )
)
_HUNDREDS = dict(
    zip(
        ["сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"],
        range(100, 1000, 100),
    )
)
_NUMBER_WORD = re.compile(
    r"(?<![а-яё])(?:"
    + "|".join(sorted([*_UNITS, *_TEENS, *_TENS, *_HUNDREDS], key=len, reverse=True))
    + r")(?![а-яё])",
    re.IGNORECASE,
)


def _spelled(work: str, numeric_default: str | None) -> list[Span]:
    spans: list[Span] = []
    run: list[re.Match[str]] = []
    for m in [*_NUMBER_WORD.finditer(work), None]:
        if m and (not run or re.fullmatch(r"[\s,\-–]*", work[run[-1].end() : m.start()])):
            run.append(m)
            continue
        if run:
            digits = _digits([w.group().lower() for w in run])
            if len(digits) >= 7:
                start = run[0].start()
                if plus := re.search(r"плюс\s+$", work[max(0, start - 6) : start], re.IGNORECASE):
                    start -= len(plus.group())
                before = re.split(r"[\d\x00]", work[max(0, start - 40) : start])[-1]
                spans.append(Span(start, run[-1].end(), _kind(digits, "", before, numeric_default)))
        run = [m] if m else []
    return spans


def _digits(words: list[str]) -> str:
    out, i = [], 0
    while i < len(words):
        value, width, w = 0, 1, words[i]
        if w in _HUNDREDS:
            value, width, i = _HUNDREDS[w], 3, i + 1
            if i < len(words) and words[i] in _TEENS:
                value, i = value + _TEENS[words[i]], i + 1
            elif i < len(words) and words[i] in _TENS:
                value, i = value + _TENS[words[i]], i + 1
                if i < len(words) and words[i] in _UNITS and _UNITS[words[i]]:
                    value, i = value + _UNITS[words[i]], i + 1
            elif i < len(words) and words[i] in _UNITS and _UNITS[words[i]]:
                value, i = value + _UNITS[words[i]], i + 1
        elif w in _TENS:
            value, width, i = _TENS[w], 2, i + 1
            if i < len(words) and words[i] in _UNITS and _UNITS[words[i]]:
                value, i = value + _UNITS[words[i]], i + 1
        elif w in _TEENS:
            value, width, i = _TEENS[w], 2, i + 1
        else:
            value, i = _UNITS[w], i + 1
        out.append(str(value).zfill(width))
    return "".join(out)
