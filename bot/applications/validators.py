"""Pure checks of what a client types into a form field.

Each `parse_*` returns the normalised value or raises `Invalid` whose message
says, in polite Russian, what is wrong and how to fix it (never a bare code).
Checksums: ИНН (10 and 12 digits), ОГРН (13) and ОГРНИП (15) by the Federal
Tax Service algorithms.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import dateparser

from bot.core import phones
from bot.core.numbers import is_digits

from . import texts


class Invalid(ValueError):
    """The answer cannot be used; `message` tells the client what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


_SEPARATORS = re.compile(r"[\s\-()]+")


def _only_digits(text: str, what: str) -> str:
    """Digits of a number typed with spaces or dashes; letters are a mistake."""
    compact = _SEPARATORS.sub("", text or "")
    if not compact:
        raise Invalid(texts.EMPTY_NUMBER.format(what=what))
    if not is_digits(compact):
        raise Invalid(texts.NOT_DIGITS.format(what=what))
    return compact


# ------------------------------------------------------------------ ИНН
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _control(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 % 10


def inn_checksum_ok(inn: str) -> bool:
    if not is_digits(inn):
        return False
    if len(inn) == 10:
        return _control(inn, _INN10) == int(inn[9])
    if len(inn) == 12:
        return _control(inn, _INN11) == int(inn[10]) and _control(inn, _INN12) == int(inn[11])
    return False


def parse_inn(text: str) -> str:
    inn = _only_digits(text, "ИНН")
    if len(inn) not in (10, 12):
        if len(inn) == 11 or len(inn) > 12:
            raise Invalid(texts.INN_LENGTH_IP.format(n=len(inn)))
        raise Invalid(texts.INN_LENGTH_ORG.format(n=len(inn)))
    if not inn_checksum_ok(inn):
        raise Invalid(texts.INN_CHECKSUM)
    return inn


# ------------------------------------------------------------ ОГРН / ОГРНИП
def ogrn_checksum_ok(ogrn: str) -> bool:
    if not is_digits(ogrn):
        return False
    if len(ogrn) == 13:
        return int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    if len(ogrn) == 15:
        return int(ogrn[:14]) % 13 % 10 == int(ogrn[14])
    return False


def parse_ogrn(text: str) -> str:
    ogrn = _only_digits(text, "ОГРН")
    if len(ogrn) not in (13, 15):
        raise Invalid(texts.OGRN_LENGTH.format(n=len(ogrn)))
    if not ogrn_checksum_ok(ogrn):
        raise Invalid(texts.OGRNIP_CHECKSUM if len(ogrn) == 15 else texts.OGRN_CHECKSUM)
    return ogrn


# ----------------------------------------------------------------- phone
def parse_phone(text: str) -> str:
    """A Russian number as E.164, +7XXXXXXXXXX (bot/core/phones, like every stored phone)."""
    try:
        return phones.parse(text)
    except phones.NotAPhone as refused:
        raise Invalid(refused.reason) from None


def show_phone(phone: str) -> str:
    return phones.display(phone)


# ----------------------------------------------------------------- e-mail
_EMAIL = re.compile(r"^[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[^\W\d_]{2,}$")


def parse_email(text: str) -> str:
    email = (text or "").strip().strip("<>").replace(" ", "")
    if "@" not in email:
        raise Invalid(texts.EMAIL_NO_AT)
    if email.count("@") > 1:
        raise Invalid(texts.EMAIL_TWO_AT)
    local, _, domain = email.partition("@")
    if not local:
        raise Invalid(texts.EMAIL_NO_NAME)
    if "." not in domain:
        raise Invalid(texts.EMAIL_NO_DOMAIN)
    if ".." in email or not _EMAIL.match(email):
        raise Invalid(texts.EMAIL_BAD)
    return f"{local}@{domain.lower()}"


# ------------------------------------------------------------------ dates
_MONTHS = {
    "январ": 1,
    "феврал": 2,
    "март": 3,
    "апрел": 4,
    "ма": 5,
    "июн": 6,
    "июл": 7,
    "август": 8,
    "сентябр": 9,
    "октябр": 10,
    "ноябр": 11,
    "декабр": 12,
}
_RELATIVE = {"сегодня": 0, "завтра": 1, "послезавтра": 2, "вчера": -1, "позавчера": -2}
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[./\-\s](\d{1,2})[./\-\s](\d{2}|\d{4})$")
_WORD_DATE = re.compile(r"^(\d{1,2})\s+([а-яё]+)\.?\s+(\d{4})(\s*г(ода?|\.)?)?$")


def _month(word: str) -> int | None:
    # «мая» / «май» are the only months starting with «ма» besides «март».
    for stem, n in sorted(_MONTHS.items(), key=lambda kv: -len(kv[0])):
        if word.startswith(stem) and (stem != "ма" or word in ("мая", "май")):
            return n
    return None


def parse_date(text: str, today: date, *, when: str = "any", max_age_years: int | None = None) -> date:
    """ДД.ММ.ГГГГ, «12 марта 2026» or «сегодня/завтра/…». `when`: past | future | any."""
    low = (text or "").strip().lower().rstrip(".")
    if low in _RELATIVE:
        day = today + timedelta(days=_RELATIVE[low])
    else:
        m = _NUMERIC_DATE.match(low)
        w = _WORD_DATE.match(low) if not m else None
        if m:
            d, mo, y = int(m[1]), int(m[2]), int(m[3])
            y = y + 2000 if y < 100 and y + 2000 <= today.year + 1 else (y + 1900 if y < 100 else y)
        elif w and (month := _month(w[2])):
            d, mo, y = int(w[1]), month, int(w[3])
        else:
            d, mo, y = _in_words(low, today, when)
        try:
            day = date(y, mo, d)
        except ValueError:
            raise Invalid(texts.DATE_IMPOSSIBLE.format(text=text.strip())) from None
    if when == "past" and day > today:
        raise Invalid(texts.DATE_NOT_PAST)
    if when == "future" and day < today:
        raise Invalid(texts.DATE_NOT_FUTURE)
    if day.year < 1900:
        raise Invalid(texts.DATE_TOO_OLD)
    if max_age_years is not None:
        limit = date(today.year - max_age_years - 1, today.month, min(today.day, 28))
        if day <= limit:
            raise Invalid(texts.DATE_TOO_OLD_FOR_FORM.format(years=max_age_years))
    return day


def _in_words(text: str, today: date, when: str) -> tuple[int, int, int]:
    """Any other way of writing a date («3 мая 2001 года», «1 февраля 85», «неделю назад»)
    through the Russian date parser; a weekday alone («в пятницу») is not a date of a form."""
    settings = {
        "DATE_ORDER": "DMY",
        "RELATIVE_BASE": datetime(today.year, today.month, today.day),
        "PREFER_DATES_FROM": {"past": "past", "future": "future"}.get(when, "current_period"),
        "REQUIRE_PARTS": ["day", "month"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if iso:  # year first: never read as day-month-year
        return int(iso[3]), int(iso[2]), int(iso[1])
    text = re.sub(r"(\d)-?(го|ое|е)\b", r"\1", text)  # «3-го мая»
    found = dateparser.parse(text, languages=["ru"], settings=settings)
    if found is None or re.search(r"понедельн|вторник|сред[уа]|четверг|пятниц|суббот|воскресен", text):
        raise Invalid(texts.DATE_FORMAT)
    return found.day, found.month, found.year


def show_date(value: str) -> str:
    return date.fromisoformat(value).strftime("%d.%m.%Y")


# ---------------------------------------------------------------- amounts
_AMOUNT = re.compile(
    r"(\d[\d\s\u00a0]*(?:[.,]\d+)?)\s*(млрд|миллиард\w*|млн|миллион\w*|мил\w*|тыс\w*|т\.?\s?р\.?|к|k)?"
)


def parse_amount(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Whole rubles from «500 тыс», «1,5 млн», «250 000 ₽», «300к»."""
    low = (text or "").lower().replace("полмиллиона", "0,5 млн").replace("полтора миллиона", "1,5 млн")
    m = _AMOUNT.search(low)
    if not m:
        raise Invalid(texts.AMOUNT_FORMAT)
    number = re.sub(r"[\s\u00a0]", "", m[1]).replace(",", ".")
    try:
        value = float(number)
    except ValueError:
        raise Invalid(texts.AMOUNT_FORMAT) from None
    unit = m[2] or ""
    if unit.startswith(("млрд", "миллиард")):
        value *= 1_000_000_000
    elif unit.startswith(("млн", "мил")):
        value *= 1_000_000
    elif unit:
        value *= 1_000
    rubles = round(value)
    if rubles <= 0:
        raise Invalid(texts.AMOUNT_ZERO)
    if minimum is not None and rubles < minimum:
        raise Invalid(texts.AMOUNT_TOO_SMALL.format(amount=show_amount(rubles), limit=show_amount(minimum)))
    if maximum is not None and rubles > maximum:
        raise Invalid(texts.AMOUNT_TOO_BIG.format(amount=show_amount(rubles), limit=show_amount(maximum)))
    return rubles


def show_amount(rubles: int | str) -> str:
    return f"{int(rubles):,}".replace(",", "\u00a0") + "\u00a0₽"


# -------------------------------------------------------------- yes / no
_YES = {"да", "ага", "конечно", "есть", "yes", "прошёл", "прошел", "прошла", "имеется", "угу", "верно"}
_NO = {"нет", "не", "no", "неа", "отсутствует", "нету"}


def parse_yes_no(text: str) -> bool:
    words = re.findall(r"[а-яёa-z]+", (text or "").lower())
    if words and words[0] in _NO:
        return False
    if words and words[0] in _YES:
        return True
    raise Invalid(texts.YES_NO_FORMAT)


# ------------------------------------------------------------------- text
def parse_text(text: str, *, min_length: int = 2, max_length: int = 1000) -> str:
    value = " ".join((text or "").split())
    if len(value) < min_length:
        raise Invalid(texts.TEXT_TOO_SHORT)
    if len(value) > max_length:
        raise Invalid(texts.TEXT_TOO_LONG.format(limit=max_length))
    return value


_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’.][^\W\d_]*)*\.?$")


def parse_full_name(text: str) -> str:
    """A person's name: letters only (hyphens, apostrophes and initials allowed), two or
    three words, no question: «а можно сначала записаться?» is a request, not a name."""
    value = parse_text(text, min_length=3, max_length=150)
    if re.search(r"\d", value):
        raise Invalid(texts.NAME_DIGITS)
    if "?" in value:
        raise Invalid(texts.NAME_QUESTION)
    parts = value.split()
    if len(parts) < 2:
        raise Invalid(texts.NAME_ONE_WORD)
    if len(parts) > 3 or not all(_NAME_WORD.match(p) for p in parts):
        raise Invalid(texts.NAME_NOT_A_NAME)
    return value
