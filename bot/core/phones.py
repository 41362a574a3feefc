"""Russian phone numbers, one way everywhere: read as clients write them,
stored in E.164 (`+79141234567`), shown in full or masked.

    parse("8 (914) 123-45-67")  → "+79141234567"     (or raises NotAPhone with the reason)
    e164("+7 914 1234567")      → "+79141234567"     (None when it is not one)
    display("+79141234567")     → "+7 914 123-45-67"
    masked("+79141234567")      → "+7 *** ***-45-67"

Which numbers exist is Google's libphonenumber's knowledge (`phonenumbers`);
how a client wrote the number is decided here, so that a number with a digit
missing is refused instead of read as another number («8 (914) 123-45-6» is
not +7 891 412-34-56), and only ASCII digits count (`bot.core.numbers`). The
assistant calls and writes Russian numbers only: another country's number
(Kazakhstan's +7 6…/7… too) is refused with a reason that says so.
"""

from __future__ import annotations

import re
from enum import Enum

import phonenumbers

from bot.core import texts
from bot.core.numbers import digits_of

NATIONAL_DIGITS = 10  # after +7 / 8
_LETTER = re.compile(r"[^\W\d_]")
# A written number: digits with the usual separators, optionally after a plus.
_WRITTEN = re.compile(r"\+?\s*[0-9](?:[\s().\-]*[0-9])*")
_KAZAKHSTAN = ("6", "7")  # national numbers of +7 that are not Russian


class Problem(Enum):
    letters = "letters"  # words where only a number was expected
    length = "length"  # too few or too many digits
    foreign = "foreign"  # another country's number
    code = "code"  # +7 with a code no Russian number has


class NotAPhone(ValueError):
    """Not a Russian phone number; `reason` tells the client what to do, in Russian."""

    def __init__(self, problem: Problem, digits: int = 0):
        self.problem, self.digits = problem, digits
        super().__init__(problem.value)

    @property
    def reason(self) -> str:
        if self.problem is Problem.length:
            return texts.PHONE_LENGTH.format(n=self.digits) if self.digits else texts.PHONE_NONE
        return {
            Problem.letters: texts.PHONE_LETTERS,
            Problem.foreign: texts.PHONE_FOREIGN,
            Problem.code: texts.PHONE_CODE,
        }[self.problem]


def parse(text: str, *, whole: bool = True) -> str:
    """The Russian number in `text` as E.164, or NotAPhone. With `whole` the text must be
    the number alone (a form field); else the number is found in a sentence
    («мой номер 8 914 123-45-67, звоните после обеда»)."""
    text = text or ""
    if whole and _LETTER.search(text):
        raise NotAPhone(Problem.letters)
    written = text if whole else _longest_number(text)
    digits = digits_of(written)
    plus = written.lstrip().startswith("+")
    if plus and not digits.startswith("7"):
        raise NotAPhone(Problem.foreign) if len(digits) >= 8 else NotAPhone(Problem.length, len(digits))
    if len(digits) == NATIONAL_DIGITS + 1 and (digits[0] == "7" or (digits[0] == "8" and not plus)):
        national = digits[1:]
    elif len(digits) == NATIONAL_DIGITS and not plus:
        national = digits
    else:
        raise NotAPhone(Problem.length, len(digits))
    number = phonenumbers.parse("+7" + national)
    if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "RU":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if national == digits and digits[0] in "78":
        raise NotAPhone(Problem.length, len(digits))  # «8 914 123-45-6»: the 8, and a digit short
    if national.startswith(_KAZAKHSTAN):
        raise NotAPhone(Problem.foreign)
    raise NotAPhone(Problem.code)


def e164(text: str, *, whole: bool = False) -> str | None:
    """`parse` for callers that only need yes or no: a number in a sentence is found."""
    try:
        return parse(text, whole=whole)
    except NotAPhone:
        return None


def display(phone: str) -> str:
    """«+7 914 123-45-67» for a stored number; anything else as it is."""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked(phone: str) -> str:
    """«+7 *** ***-45-67» — enough for the client to recognise it, too little for anyone else."""
    return f"+7 *** ***-{phone[-4:-2]}-{phone[-2:]}" if phone and len(phone) >= 4 else "—"


def _longest_number(text: str) -> str:
    """The written number with the most digits in a sentence ("" when there is none)."""
    found = _WRITTEN.findall(text)
    return max(found, key=lambda w: len(digits_of(w)), default="")
