"""УИН — the unique accrual identifier (уникальный идентификатор начисления).

20 digits (8-digit participant code УРН + 11-digit accrual number + check
digit) or 25 digits (24 + check digit). The check digit follows the
Treasury's rule, the same mod-11 scheme as OKPO codes:

1. weigh the digits left to right with 1, 2, …, 10, 1, 2, … and take the sum
   modulo 11;
2. if that is 10, weigh again with the weights shifted by two (3, 4, …, 10,
   1, 2, …) and take the sum modulo 11;
3. if it is still 10, the check digit is 0.
"""

from __future__ import annotations

from bot.core.numbers import is_digits

LENGTHS = (20, 25)


class UinError(ValueError):
    """The text is not a valid УИН; the message says why, in Russian."""


def _weighted(digits: str, shift: int) -> int:
    return sum(int(d) * ((i + shift) % 10 + 1) for i, d in enumerate(digits)) % 11


def check_digit(body: str) -> int:
    """The check digit for the first 19 (or 24) digits of a УИН."""
    if not is_digits(body) or len(body) + 1 not in LENGTHS:
        raise UinError("для расчёта контрольного разряда нужно 19 или 24 цифры")
    result = _weighted(body, 0)
    if result == 10:
        result = _weighted(body, 2)
    return 0 if result == 10 else result


def normalize(text: str) -> str:
    """Strip spaces and dashes people type between groups of digits."""
    return "".join(ch for ch in (text or "") if ch not in " -\u00a0\t")


def validate(text: str) -> str:
    """Return the normalized УИН or raise UinError with a fix-it message."""
    uin = normalize(text)
    if not uin:
        raise UinError("УИН не указан — он есть в квитанции, 20 или 25 цифр")
    if not is_digits(uin):
        raise UinError("УИН состоит только из цифр — проверьте, нет ли в нём букв или других знаков")
    if len(uin) not in LENGTHS:
        raise UinError(f"в УИН должно быть 20 или 25 цифр, а сейчас {len(uin)} — сверьте с квитанцией")
    if set(uin) == {"0"}:
        raise UinError("УИН из одних нулей означает, что начисления нет — нужен номер из квитанции")
    if int(uin[-1]) != check_digit(uin[:-1]):
        raise UinError("в УИН, похоже, опечатка: не сходится контрольная цифра — сверьте номер с квитанцией")
    return uin


def is_valid(text: str) -> bool:
    try:
        validate(text)
    except UinError:
        return False
    return True


def make(participant: str, accrual_number: int) -> str:
    """A 20-digit УИН: 8-digit participant code + 11-digit accrual number + check digit."""
    if not (is_digits(participant) and len(participant) == 8):
        raise ValueError("participant code (УРН) must be 8 digits")
    if not 0 < accrual_number < 10**11:
        raise ValueError("accrual number must fit 11 digits")
    body = f"{participant}{accrual_number:011d}"
    return body + str(check_digit(body))
