"""Helpers for the privacy tests: a person with unique, valid personal data,
conversations that hand it to the assistant, and a scan of every Redis key."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from tests.chat import Chat
from tests.conftest import API_KEY

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
NUMBER = re.compile(r"МБ-\d{4}-\d{6}")
_SYLLABLES = ("ра", "ло", "ми", "ве", "ку", "зо", "ти", "ны", "ша", "пе", "гу", "бо", "ле", "ди")


def scoped(client_id: str) -> str:
    """The internal id the API gives a `client_id` (or a conversation id) sent with the test key."""
    return f"api:{KEY_ID}:{client_id}"


def unique(name: str) -> str:
    return f"{name}-{time.time_ns()}"


def _control(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights)) % 11 % 10)


@dataclass(frozen=True)
class Person:
    surname: str
    full_name: str
    inn: str  # 12 digits, valid checksum
    ogrnip: str  # 15 digits, valid checksum
    phone: str  # +7XXXXXXXXXX
    email: str

    @property
    def phone_typed(self) -> str:
        d = self.phone[2:]
        return f"8 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"

    def needles(self) -> dict[str, str]:
        """What must not survive an erasure, by what it is."""
        d = self.phone[2:]
        return {
            "surname": self.surname,
            "inn": self.inn,
            "ogrnip": self.ogrnip,
            "phone": d,
            "phone typed": f"{d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}",
            "email": self.email.split("@")[0],
        }


def person(seed: int | None = None) -> Person:
    rng = random.Random(seed if seed is not None else time.time_ns())
    surname = "Эр" + "".join(rng.choice(_SYLLABLES) for _ in range(4)) + "ова"
    inn10 = "77" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    inn11 = inn10 + _control(inn10, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
    inn = inn11 + _control(inn11, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
    head = "3" + "".join(str(rng.randint(0, 9)) for _ in range(13))
    ogrnip = head + str(int(head) % 13 % 10)
    phone = "+7914" + "".join(str(rng.randint(0, 9)) for _ in range(7))
    email = f"erase{rng.randint(10**8, 10**9)}@mail.ru"
    return Person(
        surname=surname, full_name=f"{surname} Анна Сергеевна", inn=inn, ogrnip=ogrnip, phone=phone, email=email
    )


async def submit_microloan(chat: Chat, who: Person) -> str:
    """A whole microloan application with every personal field; returns its number."""
    await chat.say("хочу подать заявку на льготный микрозайм")
    assert "Заявка на льготный микрозайм" in chat.text(), chat.text()
    if "Часть данных я уже знаю" in chat.text():
        await chat.press_title("Нет")
    if "Кто подаёт заявку" in chat.text():
        await chat.press_title("ИП")
    if "согласие на обработку персональных данных" in chat.text():
        await chat.press_title("Согласен")
    steps = (
        (who.full_name, "ИНН"),
        (who.inn, "ОГРН"),
        (who.ogrnip, "телефон"),
        (who.phone_typed, "e-mail"),
        (who.email, "сумма займа"),
        ("1,5 млн", "На что нужен заём"),
    )
    for answer, next_question in steps:
        await chat.say(answer)
        assert next_question.lower() in chat.text().lower(), (answer, chat.last)
    await chat.press_title("Оборудование")
    await chat.say("да")
    assert "Подтвердите отправку" in chat.text(), chat.text()
    await chat.press_title("Отправить")
    found = NUMBER.search(chat.text())
    assert found, chat.text()
    return found.group(0)


# ------------------------------------------------------------------ scan
async def dump_key(redis: Redis, key: str) -> list[str]:
    """Every string a key holds, whatever its type (the key name first)."""
    kind = await redis.type(key)
    out = [key]
    if kind == "string":
        out.append(await redis.get(key) or "")
    elif kind == "hash":
        for field, value in (await redis.hgetall(key)).items():
            out += [field, value]
    elif kind == "list":
        out += await redis.lrange(key, 0, -1)
    elif kind == "set":
        out += list(await redis.smembers(key))
    elif kind == "zset":
        out += await redis.zrange(key, 0, -1)
    elif kind == "stream":
        for entry_id, fields in await redis.xrange(key):
            out.append(entry_id)
            for field, value in fields.items():
                out += [field, value]
    elif kind != "none":
        raise AssertionError(f"{key}: a Redis type the scan does not read: {kind}")
    return out


async def scan(redis: Redis, needles: dict[str, str]) -> list[tuple[str, str, str]]:
    """(key, what, the text it was found in) for every needle found anywhere in Redis."""
    hits = []
    async for key in redis.scan_iter(match="*", count=1000):
        for text in await dump_key(redis, key):
            for what, needle in needles.items():
                if needle and needle.lower() in text.lower():
                    hits.append((key, what, text[:300]))
    return hits


def as_json(text: str) -> dict:
    return json.loads(text)


def without(hits: Iterable[tuple[str, str, str]], allowed) -> list[tuple[str, str, str]]:
    return [h for h in hits if not allowed(*h)]
