"""Personal data never reaches the analytics log (R-21).

The corpus-wide recall/precision check is tests/test_masking_corpus.py; here
are the findings one by one, the payload masker, and the path through the API
into the event stream, `make analytics` and the client's history.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.analytics import build_report, format_report
from bot.core.masking import mask_payload, mask_personal_data
from bot.store import keys
from tests.chat import Chat

TOPICS = Path(__file__).resolve().parent.parent / "knowledge_base" / "topics"


@pytest.mark.parametrize(
    "text, placeholder, secret",
    [
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
    ],
)
def test_personal_data_is_masked(text, placeholder, secret):
    masked = mask_personal_data(text)
    assert placeholder in masked and secret not in masked


# The findings of the R-21 review: each of these reached the event stream.
@pytest.mark.parametrize(
    "text, placeholder, secrets",
    [
        ("меня зовут Иванов Пётр Сергеевич, хочу открыть ИП", "[имя]", ["Иванов", "Пётр", "Сергеевич"]),
        ("меня зовут иван петров, как перейти на усн", "[имя]", ["иван", "петров"]),
        ("Добрый день! Это Сидоренко Анна, по гранту", "[имя]", ["Сидоренко", "Анна"]),
        ("фио: козлова мария ивановна", "[имя]", ["козлова", "мария", "ивановна"]),
        ("мой адрес ул. Ленинская, д. 12, кв. 5", "[адрес]", ["Ленинская", "12", "5"]),
        ("живу на Гагарина 15 кв 3, нужна консультация", "[адрес]", ["Гагарина", "15"]),
        ("прописан: проспект Мира, дом 3, квартира 41", "[адрес]", ["Мира", "41"]),
        ("мой номер 914 123 45 67", "[телефон]", ["914 123 45 67", "123 45 67"]),
        ("звоните 8 (914) 123 45 67 после обеда", "[телефон]", ["123 45 67"]),
        ("телефон 8-914-123-45-67", "[телефон]", ["123-45-67"]),
        ("ИНН 7707 083893", "[инн]", ["7707", "083893"]),
        ("инн 27 23 12 34 56 78", "[инн]", ["12 34 56 78"]),
        ("огрн 1 02 77 00 13 21 95", "[огрн]", ["13 21 95"]),
        ("паспорт серия 4508 номер 123456", "[паспорт]", ["4508", "123456"]),
        ("паспорт 45 08 № 123456, код подразделения 770-001", "[паспорт]", ["45 08", "123456", "770-001"]),
        ("дата рождения 12.03.1985", "[дата]", ["12.03.1985", "1985"]),
        ("родилась 12 марта 1985 г., хочу стать самозанятой", "[дата]", ["12 марта", "1985"]),
        ("я 1979 г.р., могу получить грант?", "[дата]", ["1979"]),
        ("пишите на ivanov собака mail точка ru", "[email]", ["ivanov", "mail точка"]),
        ("почта ivanov at gmail dot com", "[email]", ["ivanov", "gmail dot"]),
        ("e-mail: petrova(at)yandex.ru", "[email]", ["petrova", "yandex"]),
        ("ИП Иванов просит перезвонить", "[имя]", ["Иванов"]),
    ],
)
def test_review_findings_are_masked(text, placeholder, secrets):
    masked = mask_personal_data(text)
    assert placeholder in masked, masked
    for secret in secrets:
        assert secret not in masked, (secret, masked)


@pytest.mark.parametrize(
    "text",
    [
        "оплатить 800 рублей до 15.12.2026",
        "Мой бизнес помогает ИП и ООО на УСН, самозанятый тоже может прийти",
        "в 2026 году лимит по УСН вырос",
        "ОКВЭД 47.11 подходит для магазина?",
        "декларацию подать до 15 декабря",
        "ООО «Ромашка» хочет льготную аренду",
        "выручка 1 500 000 рублей за год, какой налог?",
        "Вера в успех есть, но нужен грант",
        "надежда только на субсидию, любовь к делу не кормит",
        "открываю кафе в Орле, зима — мёртвый сезон",
        "форма 26.2-1, закон 152-ФЗ и статья 346.12 НК РФ",
        "приём с 9:00 до 18:00, перерыв 13:00–14:00",
        "центр «Мой бизнес» в Хабаровске, Москве и Казани",
    ],
)
def test_business_text_survives(text):
    assert mask_personal_data(text) == text


def test_knowledge_base_titles_and_questions_survive():
    changed = []
    for path in sorted(TOPICS.glob("*.yaml")):
        topic = yaml.safe_load(path.read_text(encoding="utf-8"))
        for text in [topic["title"], topic["question"], *topic.get("paraphrases", [])]:
            if mask_personal_data(text) != text:
                changed.append((text, mask_personal_data(text)))
    assert not changed


def test_an_ip_keeps_its_form_and_loses_the_surname():
    assert mask_personal_data("ИП Петрова А.С. и ООО «Вектор»") == "ИП [имя] и ООО «Вектор»"


@pytest.mark.parametrize(
    "payload, expected",
    [
        ("flow:callback:+79141234567", "flow:callback:[телефон]"),
        ("flow:callback:8 914 123-45-67", "flow:callback:[телефон]"),
        ("flow:callback:s1767096000", "flow:callback:s[id]"),
        ("flow:booking:m:a3f09bc12d4e:registration", "flow:booking:m:[id]:registration"),
        ("flow:booking:more:1767096000", "flow:booking:more:[id]"),
        ("flow:handoff:ivanov@mail.ru", "flow:handoff:[email]"),
        ("faq:close_ip", "faq:close_ip"),
        ("nok:usn", "nok:usn"),
        ("flow:rating:q5", "flow:rating:q5"),
        ("do:payment_status", "do:payment_status"),
    ],
)
def test_button_payloads_keep_their_shape_without_personal_data(payload, expected):
    assert mask_payload(payload) == expected


SECRETS = [
    "Иванов",
    "Пётр",
    "Ленинская",
    "123 45 67",
    "7707",
    "083893",
    "4508",
    "123456",
    "1985",
    "ivanov",
    "mail точка",
]
TELLING = (
    "здравствуйте, меня зовут Иванов Пётр Сергеевич, живу ул. Ленинская, д. 12, кв. 5, "
    "телефон 914 123 45 67, инн 7707 083893, паспорт серия 4508 номер 123456, "
    "родился 12.03.1985, почта ivanov собака mail точка ru. какая завтра погода в москве"
)


async def test_event_log_stores_masked_text_and_outcome(api, runtime):
    chat = Chat(api)
    await chat.say("я ип, мой инн 500100732259, телефон +7 916 123 45 67, как перейти на усн")
    last = (await runtime.redis.xrevrange(keys.events(), count=1))[0][1]
    assert "500100732259" not in last["text"] and "916" not in last["text"]
    assert "[инн]" in last["text"] and "[телефон]" in last["text"]
    assert last["channel"] == "api" and last["intent"] and float(last["latency_ms"]) > 0
    assert chat.cid not in last["conv"]


async def test_the_review_message_leaves_no_trace_in_events_or_analytics(api, runtime):
    chat = Chat(api)
    await chat.say(TELLING)
    event = (await runtime.redis.xrevrange(keys.events(), count=1))[0][1]
    for placeholder in ("[имя]", "[адрес]", "[телефон]", "[инн]", "[паспорт]", "[дата]", "[email]"):
        assert placeholder in event["text"], event["text"]
    stored = " ".join(event.values())
    report = format_report(build_report(await runtime.engine.events.read_all()))
    for secret in SECRETS:
        assert secret not in stored and secret not in report, secret


async def test_button_payloads_and_decisions_are_masked_in_events(api, runtime):
    chat = Chat(api)
    await chat.press("flow:callback:+7 914 123-45-67")
    event = (await runtime.redis.xrevrange(keys.events(), count=1))[0][1]
    assert event["payload"] == "flow:callback:[телефон]"
    await chat.press("flow:handoff:ivanov@mail.ru")
    event = (await runtime.redis.xrevrange(keys.events(), count=1))[0][1]
    assert event["payload"] == "flow:handoff:[email]"
    assert "ivanov" not in " ".join(event.values()) and event["decision"] == "handoff:[email]"


async def test_the_clients_history_shows_questions_masked(api, runtime):
    chat = Chat(api, client_id="history-masking-client")
    await chat.say("как перейти на усн? я Иванов Пётр Сергеевич, телефон 914 123 45 67")
    await chat.say("покажите историю моих обращений")
    shown = chat.text()
    assert "вопрос" in shown and "[имя]" in shown and "[телефон]" in shown
    assert "Иванов" not in shown and "123 45 67" not in shown
