"""Issue 18 through the API (real Rasa model): what people really type is understood,
other authorities' services are redirected with the operator at hand, an action asked
beside a question is offered first, and a long message's question is found (issue 13,
item 6)."""

from __future__ import annotations

from bot.core.normalize.keyboard import to_latin
from tests.chat import Chat

OPERATOR = "do:ask_operator"


def payloads(reply: dict) -> list[str]:
    return [b.get("payload") or "" for b in reply["buttons"]]


async def test_transliterated_question_is_answered_and_the_change_is_said(api):
    result = await Chat(api).say("nuzhno li samozanyatomu pokupat' kassu")
    u = result["understanding"]
    assert (u["intent"], u["faq_id"]) == ("faq", "cash_register")
    assert u["normalization"]["text"] == "нужно ли самозанятому покупать кассу"
    assert {c["kind"] for c in u["normalization"]["changes"]} == {"translit"}
    assert result["replies"][0]["kind"] == "answer"


async def test_wrong_layout_question_is_answered(api):
    result = await Chat(api).say(to_latin("Как встать на учёт самозанятым?"))
    u = result["understanding"]
    assert u["faq_id"] == "self_employed"
    assert u["normalization"]["changes"][0] == {"kind": "layout", "original": "Rfr", "normalized": "Как"}


async def test_fine_text_is_read_as_typed(api):
    result = await Chat(api).say("ОКВЭД 47.91 подойдет для продаж на Ozon?")
    assert result["understanding"]["normalization"] is None


async def test_another_authoritys_service_is_redirected_with_the_source_and_the_operator(api):
    result = await Chat(api).say("где оплатить штраф за парковку")
    u = result["understanding"]
    assert u["other_service"] == "traffic_fine"
    assert [r["kind"] for r in result["replies"]] == ["info"]
    reply = result["replies"][0]
    assert "Госавтоинспекц" in reply["text"] and "оператор" in reply["text"]
    assert any(b.get("url") for b in reply["buttons"]) and OPERATOR in payloads(reply)


async def test_business_question_with_a_near_miss_word_is_answered(api):
    result = await Chat(api).say("как оформить работника, какие документы нужны кроме паспорта и снилс")
    assert result["understanding"]["faq_id"] == "hire_employee"
    assert "answer" in [r["kind"] for r in result["replies"]]


async def test_action_beside_a_question_is_offered_first_and_starts_when_pressed(api):
    chat = Chat(api)
    result = await chat.say("какие документы нужны для регистрации ооо? и запишите меня на консультацию")
    first = result["replies"][0]
    assert first["kind"] == "info" and payloads(first) == ["do:book_appointment"]
    assert any(r["kind"] == "answer" for r in result["replies"][1:])
    pressed = await chat.press("do:book_appointment")
    assert pressed["state"]["flow"] is not None


async def test_the_question_at_the_end_of_a_long_message_is_answered(api):
    story = (
        "Добрый день! Я уже четвертый год веду небольшое дело: шью и ремонтирую одежду, работаю одна, "
        "арендую угол в торговом центре. Доходы неровные, летом больше, зимой меньше. Раньше мне помогала "
        "знакомая бухгалтер, но она переехала, и теперь я разбираюсь со всем сама. "
    )
    text = story * 10 + "Как мне оформить патент на следующий год?"
    assert 2400 < len(text) < 4096
    result = await Chat(api).say(text)
    u = result["understanding"]
    assert u["faq_id"] == "patent" and "патент" in u["focus"]
    assert result["replies"][0]["kind"] == "answer"
