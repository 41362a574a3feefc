"""What the client meant is never lost inside a flow (issue 13, «Why»), end to end
through the HTTP API with the real Rasa model and Redis: a different request
interrupts a form without being stored in it and the form asks again after it;
feedback on an answer given mid-form is feedback, not a field; typed answers to
the assistant's own questions («согласна», «да», «скорее сложно»); the form comes
back after an operator and after a callback booked out of hours; the rate-limit
message promises only what happens; an English question gets an English reply.
The recognisers themselves: tests/test_answers.py."""

from __future__ import annotations

import hashlib
import time

from bot.core import texts as core_texts
from bot.core.messages import Candidate, Understanding
from handoff import keys as handoff_keys
from handoff import rating
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.schedule_kit import OFFICE, SATURDAY_NOON, Clock

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
NAME_QUESTION = "фамилию, имя и отчество"
OGRN_QUESTION = "Укажите ОГРНИП (15 цифр)"


def unique(name: str) -> str:
    return f"{name}-{time.time_ns()}"


def scoped(chat: Chat) -> str:
    return f"api:{KEY_ID}:{chat.cid}"


async def grant_form_at_the_name(api) -> Chat:
    """A new client in the young entrepreneurs' grant form, asked for their name."""
    chat = Chat(api, client_id=unique("grant"))
    await chat.press("do:start_application")
    await chat.press("flow:app:f:grant_young")
    await chat.press_title("ИП")
    await chat.press("flow:app:pd_yes")
    assert NAME_QUESTION in chat.text() and chat.last["state"]["flow"] == "app"
    return chat


async def app_state(runtime, chat: Chat) -> dict:
    state = await runtime.engine.conversations.load(scoped(chat))
    return state.flow_state if state.flow == "app" else next(s["state"] for s in state.suspended if s["flow"] == "app")


async def test_a_request_typed_at_the_name_interrupts_the_form_which_asks_again_after_it(api, runtime, booking):
    chat = await grant_form_at_the_name(api)
    await chat.say("а можно сначала записаться на консультацию?")
    assert chat.last["understanding"]["intent"] == "book_appointment"
    assert chat.last["state"]["flow"] == "booking" and "Выберите, пожалуйста, тему" in chat.text()
    assert "full_name" not in (await app_state(runtime, chat))["answers"]  # the question is not a name
    await chat.say("отмена")  # the booking ends: the form is back, with its question
    assert chat.last["state"]["flow"] == "app" and NAME_QUESTION in chat.text()
    await chat.say("Петрова Анна Сергеевна")
    assert "дата рождения" in chat.text().lower()
    assert (await app_state(runtime, chat))["answers"]["full_name"] == "Петрова Анна Сергеевна"


async def test_after_an_answer_mid_form_da_pomoglo_is_feedback_and_the_question_comes_again(api, runtime):
    chat = await grant_form_at_the_name(api)
    await chat.say("Петрова Анна Сергеевна")
    await chat.say("05.03.2004")
    await chat.say("500100732259")
    assert OGRN_QUESTION in chat.text()
    await chat.say("а где взять ОГРНИП?")  # about the question itself: its help, not «only digits»
    assert "листе записи ЕГРИП" in chat.text() and OGRN_QUESTION in chat.text()
    await chat.say("как зарегистрировать ИП?")
    assert chat.answered_topic() and core_texts.ASK_RESOLVED in chat.text()
    assert chat.last["replies"][-1]["text"].startswith(OGRN_QUESTION)  # the form's question again
    assert chat.last["state"]["flow"] == "app"
    await chat.say("да, помогло")
    assert core_texts.GLAD_TO_HELP in chat.text() and OGRN_QUESTION in chat.text()
    assert "ogrn" not in (await app_state(runtime, chat))["answers"]
    await chat.say("304500116000157")
    assert "телефон" in chat.text().lower()
    assert (await app_state(runtime, chat))["answers"]["ogrn"] == "304500116000157"


async def test_a_question_at_the_name_is_answered_and_the_helped_button_brings_the_name_back(api, runtime):
    chat = await grant_form_at_the_name(api)
    await chat.say("как зарегистрировать ИП?")
    topic = chat.answered_topic()
    assert topic and chat.last["replies"][-1]["text"].startswith("Как вас зовут?")
    await chat.press(f"ok:{topic}")
    assert core_texts.GLAD_TO_HELP in chat.text() and chat.last["replies"][-1]["text"].startswith("Как вас зовут?")
    assert "full_name" not in (await app_state(runtime, chat))["answers"]


async def test_a_phone_with_a_digit_missing_is_refused_with_the_reason(api, runtime):
    chat = await grant_form_at_the_name(api)
    for answer in ("Петрова Анна Сергеевна", "05.03.2004", "500100732259", "304500116000157"):
        await chat.say(answer)
    assert "телефон" in chat.text().lower()
    await chat.say("8 (914) 123-45-6")
    assert "11 цифр" in chat.text() and "насчитал 10" in chat.text()
    assert "phone" not in (await app_state(runtime, chat))["answers"]
    await chat.say("8 (914) 123-45-67")
    assert (await app_state(runtime, chat))["answers"]["phone"] == "+79141234567"


async def test_a_date_of_birth_in_words_is_understood(api, runtime):
    chat = await grant_form_at_the_name(api)
    await chat.say("Петрова Анна Сергеевна")
    await chat.say("3-го мая 04")
    assert "ИНН" in chat.text()
    assert (await app_state(runtime, chat))["answers"]["birth_date"] == "2004-05-03"


async def booking_at_the_consent(api) -> Chat:
    chat = Chat(api, client_id=unique("consent"))
    await chat.press("flow:booking:book")
    await chat.press("flow:booking:t:taxes")
    slot = next(b["payload"] for b in chat.buttons() if b["payload"].startswith("flow:booking:s:"))
    await chat.press(slot)
    assert "согласие на обработку персональных данных" in chat.text()
    return chat


async def test_typed_consent_in_any_gender_goes_on_with_the_booking(api, runtime, booking):
    for word in ("согласен", "согласна", "да, конечно"):
        chat = await booking_at_the_consent(api)
        await chat.say(word)
        assert chat.last["state"]["flow"] == "booking" and "Записать вас?" in chat.text(), word
        await chat.say("да")
        assert "вы записаны" in chat.text() and chat.last["state"]["flow"] is None, word


async def test_typed_da_cancels_the_appointment_it_was_asked_about(api, runtime, booking):
    chat = await booking_at_the_consent(api)
    await chat.press("flow:booking:pd_yes")
    await chat.press_title("Записаться")
    [appt] = await booking.book.for_client(f"api:{KEY_ID}:{chat.client_id}")
    await chat.press(f"flow:booking:c:{appt.id}")
    assert "Отменить запись «Налоги и отчётность»" in chat.text()
    await chat.say("да")
    assert "отменена, напоминания не будет" in chat.text()
    assert (await booking.book.get(appt.id)).status == "cancelled"


async def test_rating_takes_typed_scale_words_and_the_form_asks_again_after_the_operator(api, runtime, handoff):
    chat = await grant_form_at_the_name(api)
    await chat.say("позовите оператора")
    assert chat.kinds() == ["handoff"]
    cid = scoped(chat)
    await handoff.claim("anna", cid)
    await handoff.resolve("anna", cid)
    await chat.say("удовлетворена")
    assert rating.ASK_EASE in chat.text()
    await chat.say("скорее сложно")
    assert "Спасибо за оценку" in chat.text() and rating.ASK_COMMENT in chat.text()
    await chat.press("flow:rating:skip")  # no comment: then back to the form
    assert NAME_QUESTION in chat.text()
    assert chat.last["state"] == {"flow": "app", "with_operator": False}
    [(_, saved)] = await runtime.redis.xrevrange(handoff_keys.handoff_ratings(), count=1)
    assert (saved["satisfaction"], saved["ease"]) == ("4", "2")


async def test_a_callback_booked_out_of_hours_mid_form_keeps_the_form(api, runtime, handoff):
    handoff.set_schedule(OFFICE)
    handoff.clock = Clock(SATURDAY_NOON)
    chat = await grant_form_at_the_name(api)
    await chat.say("соедините с оператором")
    assert "не работают" in chat.text()
    await chat.press("do:request_callback")
    assert chat.last["state"]["flow"] == "callback"
    await chat.press("flow:callback:yes")
    await chat.say("8 914 123-45-67")
    slot = next(b["payload"] for b in chat.buttons() if b["payload"].startswith("flow:callback:s"))
    await chat.press(slot)
    assert "перезвонит" in chat.text() and NAME_QUESTION in chat.text()
    assert chat.last["state"]["flow"] == "app"


async def test_not_sure_which_the_client_meant_they_are_asked(api, runtime, monkeypatch):
    chat = await grant_form_at_the_name(api)
    engine = runtime.engine
    unsure = engine.cal.clarify + (engine.cal.answer - engine.cal.clarify) / 2
    guess = Understanding(
        intent="pay_fee",
        confidence=unsure,
        ranking=[Candidate(intent="pay_fee", score=unsure), Candidate(intent="faq", faq_id="register_ip", score=0.1)],
    )

    async def understand(text: str) -> Understanding:
        return guess

    monkeypatch.setattr(engine.understander, "understand", understand)
    await chat.say("а какие есть льготы?")
    assert "Продолжим заявку или" in chat.text()
    assert [b["payload"] for b in chat.buttons()][:2] == ["rs", "do:pay_fee"]
    await chat.press("rs")
    assert NAME_QUESTION in chat.text() and chat.last["state"]["flow"] == "app"


async def test_the_rate_limit_asks_to_send_the_unread_message_again(api, runtime):
    limit = runtime.engine.rate_limiter.per_minute
    runtime.engine.rate_limiter.per_minute = 2
    try:
        chat = Chat(api, client_id=unique("flood"))
        await chat.press("do:help")
        await chat.press("do:help")
        await chat.say("как открыть ИП")
        assert chat.kinds() == ["error"]
        assert "не потеряется" not in chat.text() and "отправьте его ещё раз" in chat.text()
        history = await runtime.engine.conversations.history(scoped(chat))
        assert "как открыть ИП" not in [h.get("text") for h in history]  # indeed unread: hence «ещё раз»
    finally:
        runtime.engine.rate_limiter.per_minute = limit


async def test_an_english_question_gets_an_english_reply_and_the_operator(api):
    chat = Chat(api)
    await chat.say("How do I register a company in Russia?")
    assert "I can only answer in Russian" in chat.text()
    assert [b["payload"] for b in chat.buttons()] == ["do:ask_operator"]


# ------------------------------------------- the other flows' questions (fits)
def offered_slots(chat: Chat, prefix: str) -> list[str]:
    return [b["payload"] for b in chat.buttons() if b["payload"].startswith(prefix)]


async def test_a_question_at_the_booking_times_is_answered_and_the_times_offered_again(api, runtime, booking):
    chat = Chat(api, client_id=unique("times"))
    await chat.press("flow:booking:book")
    await chat.press("flow:booking:t:taxes")
    assert offered_slots(chat, "flow:booking:s:")
    await chat.say("а сколько стоит госпошлина?")
    assert chat.answered_topic() and chat.last["state"]["flow"] == "booking"
    assert offered_slots(chat, "flow:booking:s:")  # the booking's question again, after the answer
    state = await runtime.engine.conversations.load(scoped(chat))
    assert state.flow_state["step"] == "slot" and state.flow_state["wish"] is None  # not read as a time
    await chat.say("14:30")  # a time typed alone is the booking's answer
    state = await runtime.engine.conversations.load(scoped(chat))
    assert state.flow == "booking" and state.flow_state["wish"]["said"] == "в 14:30"
    assert chat.answered_topic() is None


async def test_a_time_typed_for_a_booking_set_aside_goes_back_to_the_booking(api, runtime, booking):
    chat = Chat(api, client_id=unique("aside"))
    await chat.press("flow:booking:book")
    await chat.press("flow:booking:t:taxes")
    await chat.say("хочу оплатить госпошлину")  # a request of its own: the booking waits
    assert chat.last["state"]["flow"] == "pay"
    await chat.say("14:30")  # no answer to «which fee?», but one to the booking's question
    state = await runtime.engine.conversations.load(scoped(chat))
    assert state.flow == "booking" and state.flow_state["wish"]["said"] == "в 14:30", chat.text()
    assert [item["flow"] for item in state.suspended] == ["pay"]  # the payment waits its turn
    assert "не смогу" not in chat.text()
    await chat.press("flow:booking:x")  # the booking ends: the payment's question comes back
    assert chat.last["state"]["flow"] == "pay"
    assert any(b["payload"].startswith("flow:pay:f:") for b in chat.buttons())


async def test_a_question_at_the_fee_choice_is_answered_and_the_fees_offered_again(api, runtime):
    chat = Chat(api, client_id=unique("fees"))
    await chat.say("оплатить госпошлину")
    assert chat.last["state"]["flow"] == "pay"
    await chat.say("а как закрыть ип вообще?")  # «ип» names a fee, but this is a question
    assert chat.answered_topic() == "close_ip" and chat.last["state"]["flow"] == "pay"
    assert any(b["payload"].startswith("flow:pay:f:") for b in chat.buttons())  # the fees again
    state = await runtime.engine.conversations.load(scoped(chat))
    assert state.flow_state["step"] == "choose" and state.flow_state["fee"] is None
    await chat.say("за регистрацию ИП")
    state = await runtime.engine.conversations.load(scoped(chat))
    assert state.flow_state["step"] == "confirm" and state.flow_state["fee"] == "ip_registration"


async def test_not_sure_what_a_message_at_the_fee_choice_is_the_client_is_asked(api, runtime, monkeypatch):
    chat = Chat(api, client_id=unique("unsure-fee"))
    await chat.say("оплатить госпошлину")
    engine = runtime.engine
    unsure = engine.cal.clarify + (engine.cal.answer - engine.cal.clarify) / 2
    guess = Understanding(
        intent="faq",
        faq_id="support_measures",
        confidence=unsure,
        ranking=[Candidate(intent="faq", faq_id="support_measures", score=unsure)],
    )

    async def understand(text: str) -> Understanding:
        return guess

    monkeypatch.setattr(engine.understander, "understand", understand)
    await chat.say("а какие есть льготы")  # not a fee, and not surely a question about support
    assert "Продолжим оплату или" in chat.text()
    assert [b["payload"] for b in chat.buttons()][:2] == ["rs", "faq:support_measures"]
    await chat.press("rs")
    assert chat.last["state"]["flow"] == "pay" and any(b["payload"].startswith("flow:pay:f:") for b in chat.buttons())


async def test_a_request_at_the_callback_number_interrupts_and_a_typed_time_books_the_call(api, runtime, handoff):
    handoff.set_schedule(OFFICE)
    handoff.clock = Clock(SATURDAY_NOON)
    chat = Chat(api, client_id=unique("callme"))
    await chat.press("do:request_callback")
    await chat.press("flow:callback:yes")
    assert "номер телефона" in chat.text()
    await chat.say("сколько стоит регистрация ооо?")  # not a number: answered, then the number asked again
    assert chat.answered_topic() and chat.last["replies"][-1]["text"].startswith("Напишите, пожалуйста, номер")
    assert chat.last["state"]["flow"] == "callback"
    await chat.say("8 914 123-45-67")
    *_, last = [b for b in chat.buttons() if b["payload"].startswith("flow:callback:s")]  # the first: other tests'
    await chat.say(last["title"])  # «30 ноября в 10:00»: the time typed as it was offered
    assert "перезвонит" in chat.text() and chat.last["state"]["flow"] is None
