"""Payment QR code in the Russian standard format, GOST R 56042-2014.

Payload: the header `ST0001` + the character-set digit (1 = windows-1251,
2 = utf-8, 3 = koi8-r), then `|Key=Value` pairs. The five mandatory fields
come first and in this order: Name, PersonalAcc, BankName, BIC, CorrespAcc;
we then put PayeeINN, KPP, CBC, OKTMO, Sum (in kopecks), Purpose, UIN.
The separator must not occur inside values. Each field has a length
limit (LIMITS). Some generators also cap the whole payload at 300 bytes; a
treasury payment (payee, bank, KBK, OKTMO, УИН) cannot fit that, so we cap
it at MAX_BYTES = 450 (QR version ≤ 16 at level M: still scannable from a
phone screen) and shorten Purpose first if needed. windows-1251 is the
default: one byte per Cyrillic letter keeps the code small, and it is the
encoding bank apps have supported longest; utf-8 ('2') is a setting.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from .catalogue import Payee, format_rubles
from .gisgmp import PaymentInfoSource, observed
from .orders import Order
from .providers import Observed, Started
from .status import PaymentMethod

HEADER = "ST0001"
ENCODINGS = {"windows-1251": "1", "utf-8": "2", "koi8-r": "3"}
SEPARATOR = "|"
MAX_BYTES = 450
# Field length limits of the standard (characters).
LIMITS = {
    "Name": 160,
    "PersonalAcc": 20,
    "BankName": 45,
    "BIC": 9,
    "CorrespAcc": 20,
    "PayeeINN": 12,
    "KPP": 9,
    "CBC": 20,
    "OKTMO": 11,
    "Sum": 18,
    "Purpose": 160,
    "UIN": 25,
}
ORDER = (
    "Name",
    "PersonalAcc",
    "BankName",
    "BIC",
    "CorrespAcc",
    "PayeeINN",
    "KPP",
    "CBC",
    "OKTMO",
    "Sum",
    "Purpose",
    "UIN",
)


class QrPayloadError(ValueError):
    pass


@dataclass(frozen=True)
class PaymentDetails:
    """Everything a payment order carries: payee, amount, purpose, УИН."""

    payee: Payee
    amount_kopecks: int
    purpose: str
    uin: str


def _clean(value: str) -> str:
    # The separator cannot be escaped in this format; line breaks confuse scanners.
    return " ".join(str(value).replace(SEPARATOR, "/").split())


def fields(details: PaymentDetails) -> list[tuple[str, str]]:
    p = details.payee
    values = {
        "Name": p.recipient,
        "PersonalAcc": p.account,
        "BankName": p.bank[: LIMITS["BankName"]].rstrip(),
        "BIC": p.bic,
        "CorrespAcc": p.correspondent_account,
        "PayeeINN": p.inn,
        "KPP": p.kpp,
        "CBC": p.kbk,
        "OKTMO": p.oktmo,
        "Sum": str(details.amount_kopecks),
        "Purpose": details.purpose,
        "UIN": details.uin,
    }
    out = []
    for key in ORDER:
        value = _clean(values[key])
        if len(value) > LIMITS[key]:
            if key != "Purpose":
                raise QrPayloadError(f"{key} is longer than {LIMITS[key]} characters")
            value = value[: LIMITS[key]].rstrip()
        out.append((key, value))
    return out


def payload(details: PaymentDetails, encoding: str = "windows-1251") -> bytes:
    """The bytes to put into the QR code; Purpose is shortened if the whole is over MAX_BYTES."""
    if encoding not in ENCODINGS:
        raise QrPayloadError(f"unsupported encoding {encoding}")
    pairs = fields(details)

    def encode(items: list[tuple[str, str]]) -> bytes:
        text = SEPARATOR.join([HEADER + ENCODINGS[encoding], *(f"{k}={v}" for k, v in items)])
        return text.encode(encoding)

    data = encode(pairs)
    if len(data) > MAX_BYTES:
        fixed = [(k, v) for k, v in pairs if k != "Purpose"]
        room = MAX_BYTES - len(encode(fixed)) - len(SEPARATOR + "Purpose=")
        purpose = dict(pairs)["Purpose"]
        while purpose and len(purpose.encode(encoding)) > room:
            purpose = purpose[:-1]
        if not purpose.strip():
            raise QrPayloadError(f"payload over {MAX_BYTES} bytes even without the purpose")
        pairs = [(k, purpose.rstrip() if k == "Purpose" else v) for k, v in pairs]
        data = encode(pairs)
    return data


def png(data: bytes) -> bytes:
    """Render the payload as a PNG (byte mode, error correction M)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(data, optimize=0)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def requisites_text(details: PaymentDetails) -> str:
    """The same requisites as text, for people and for banks without a scanner."""
    p = details.payee
    return "\n".join(
        [
            f"Получатель: {p.recipient}",
            f"ИНН {p.inn}, КПП {p.kpp}",
            f"Счёт получателя: {p.account}",
            f"Банк: {p.bank}",
            f"БИК {p.bic}, корр. счёт (ЕКС) {p.correspondent_account}",
            f"КБК {p.kbk}, ОКТМО {p.oktmo}",
            f"Сумма: {format_rubles(details.amount_kopecks)}",
            f"Назначение: {details.purpose}",
            f"УИН: {details.uin}",
        ]
    )


def details_of(order: Order) -> PaymentDetails:
    return PaymentDetails(payee=order.payee, amount_kopecks=order.amount_kopecks, purpose=order.purpose, uin=order.uin)


class QrProvider:
    """Pay by scanning the QR code in any banking app (or by the requisites as text).

    The money goes to the Treasury by the УИН; we learn about it only from the
    state payment system (ГИС ГМП): `check` asks it through `info` when a
    connection is configured (bot/payments/gisgmp.py), and reports nothing
    otherwise — staff then mark the payment received (bot/payments/staff.py).
    """

    method = PaymentMethod.qr

    def __init__(self, public_base_url: str, info: PaymentInfoSource | None = None):
        self.public_base_url = public_base_url.rstrip("/")
        self.info = info

    def image_url(self, order_id: str) -> str:
        return f"{self.public_base_url}{QR_ROUTE.format(order_id=order_id)}"

    async def start(self, order: Order) -> Started:
        return Started(image_url=self.image_url(order.id))

    async def check(self, order: Order) -> Observed:
        if self.info is None:
            return Observed(status=None)
        return observed(await self.info.paid(order.uin))


QR_ROUTE = "/payments/qr/{order_id}.png"
