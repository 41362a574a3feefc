"""Personal data never reaches the analytics log (R-21)."""

from __future__ import annotations

import pytest

from bot.core.masking import mask_personal_data
from bot.store import keys
from tests.chat import Chat


@pytest.mark.parametrize("text, placeholder, secret", [
    ("мой телефон +7 (916) 123-45-67", "[телефон]", "123-45-67"),
    ("звоните 89161234567", "[телефон]", "89161234567"),
    ("почта ivan.petrov@mail.ru", "[email]", "petrov"),
    ("ИНН 7707083893", "[инн]", "7707083893"),
    ("инн ип 500100732259", "[инн]", "500100732259"),
    ("ОГРН 1027700132195", "[огрн]", "1027700132195"),
    ("огрнип 304500116000157", "[огрн]", "304500116000157"),
    ("СНИЛС 112-233-445 95", "[снилс]", "445"),
    ("паспорт 4510 123456", "[паспорт]", "123456"),
    ("карта 4276 1600 1234 5678", "[карта]", "5678"),
])
def test_personal_data_is_masked(text, placeholder, secret):
    masked = mask_personal_data(text)
    assert placeholder in masked and secret not in masked


def test_ordinary_numbers_survive():
    assert mask_personal_data("оплатить 800 рублей до 15.12.2026") == "оплатить 800 рублей до 15.12.2026"


async def test_event_log_stores_masked_text_and_outcome(api, runtime):
    chat = Chat(api)
    await chat.say("я ип, мой инн 500100732259, телефон +7 916 123 45 67, как перейти на усн")
    last = (await runtime.redis.xrevrange(keys.events(), count=1))[0][1]
    assert "500100732259" not in last["text"] and "916" not in last["text"]
    assert "[инн]" in last["text"] and "[телефон]" in last["text"]
    assert last["channel"] == "api" and last["intent"] and float(last["latency_ms"]) > 0
    assert chat.cid not in last["conv"]
