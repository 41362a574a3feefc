"""Conversations through the HTTP API, real Rasa model and real Redis:
answer → «помогло?» → «нет» → options → press → answer, and its variants."""

from __future__ import annotations

import asyncio

from bot.core import texts
from bot.store import keys
from tests.chat import Chat

OPERATOR = "do:ask_operator"


async def test_question_is_answered_with_source_and_asks_if_it_helped(api):
    chat = Chat(api)
    result = await chat.say("хочу открыть ип, что делать")
    assert chat.kinds() == ["answer", "ask_resolved"]
    assert result["understanding"]["intent"] == "faq"
    assert result["understanding"]["faq_id"] == "register_ip"
    assert len(result["understanding"]["ranking"]) >= 3
    answer = result["replies"][0]
    assert answer["faq_id"] == "register_ip" and "Источник:" in answer["text"]
    payloads = [b["payload"] for b in chat.buttons("ask_resolved")]
    assert payloads == ["ok:register_ip", "nok:register_ip", OPERATOR]
    assert result["state"] == {"flow": None, "with_operator": False}


async def test_not_helped_offers_options_and_a_pressed_option_is_answered(api):
    chat = Chat(api)
    await chat.say("как перейти на упрощенку")
    first = chat.answered_topic()
    assert first == "usn"
    await chat.press_title("Нет")
    assert chat.kinds() == ["options"]
    options = chat.buttons("options")
    assert 2 <= len(options) <= 4 and options[-1]["payload"] == OPERATOR
    assert all(b["payload"] != f"faq:{first}" for b in options)
    await chat.press(options[0]["payload"])
    assert chat.kinds() == ["answer", "ask_resolved"]
    assert chat.answered_topic() == options[0]["payload"].removeprefix("faq:")


async def test_typed_no_after_an_answer_asks_to_rephrase_with_options(api):
    chat = Chat(api)
    await chat.say("сколько стоит госпошлина за регистрацию ооо")
    assert chat.answered_topic() == "registration_fee"
    await chat.say("нет, не помогло")
    assert chat.kinds() == ["options"]
    assert "Переформулируйте" in chat.text()


async def test_typed_yes_after_an_answer_is_acknowledged(api):
    chat = Chat(api)
    await chat.say("как получить электронную подпись")
    assert chat.answered_topic() == "digital_signature"
    await chat.say("да, спасибо")
    assert chat.kinds() == ["info"] and "Рад" in chat.text()


async def test_segment_is_remembered_and_answers_use_its_variant(api, runtime):
    chat = Chat(api, client_id="segment-client")
    await chat.say("я самозанятый")
    assert "самозанят" in chat.text().lower()
    await chat.say("нужна ли мне онлайн-касса")
    assert chat.answered_topic() == "cash_register"
    variant = runtime.kb["cash_register"].segments
    assert any(v.value == "self_employed" for v in variant)
    assert chat.last["replies"][0]["text"].startswith(runtime.kb["cash_register"].answer_for("self_employed")[:60])


async def test_segment_can_be_chosen_with_buttons(api):
    chat = Chat(api)
    await chat.press("do:set_segment")
    assert [b["payload"] for b in chat.buttons()][:4] == ["seg:future", "seg:self_employed", "seg:ip", "seg:sme"]
    await chat.press("seg:ip")
    assert "индивидуальный предприниматель" in chat.text()
    # and what usually matters to a sole trader is one tap away
    assert "faq:usn" in [b["payload"] for b in chat.buttons()]


async def test_every_reply_set_offers_an_operator(api):
    chat = Chat(api)
    for message in ["добрый день", "как нанять сотрудника", "спой песню", "спасибо", "деньги на бизнес"]:
        await chat.say(message)
        assert OPERATOR in [b["payload"] for b in chat.buttons()], (message, chat.last)


async def test_operator_request_hands_off(api):
    chat = Chat(api)
    await chat.say("позовите живого оператора")
    assert chat.kinds() == ["handoff"]


async def test_out_of_scope_is_polite_and_offers_topics(api):
    chat = Chat(api)
    result = await chat.say("какая завтра погода в москве")
    assert result["understanding"]["intent"] == "out_of_scope"
    assert chat.kinds() == ["info"] and "К сожалению" in chat.text()
    assert len(chat.buttons()) >= 2


async def test_greeting_introduces_the_assistant(api):
    chat = Chat(api)
    await chat.say("здравствуйте")
    assert "помощник" in chat.text() and "оператор" in chat.text()


async def test_stale_or_unknown_button_gets_a_clear_answer(api):
    chat = Chat(api)
    await chat.press("zzz:nothing")
    assert chat.kinds() == ["info"] and "устарела" in chat.text()


async def test_messages_of_one_conversation_never_race(api, runtime):
    chat = Chat(api)
    texts = ["как открыть ооо", "что такое патент", "нужна ли касса", "как закрыть ип", "где взять эцп"]
    results = await asyncio.gather(*(Chat(api, chat.cid).say(t) for t in texts))
    assert all(r["replies"] for r in results)
    scoped = [k async for k in runtime.redis.scan_iter(match=keys.conversation(f"api:*:{chat.cid}"))]
    state = await runtime.engine.conversations.load(keys.CONV.entity_of(scoped[0]))
    assert state.turns == len(texts)
    history = await runtime.engine.conversations.history(state.conversation_id)
    assert sorted(h["text"] for h in history if h["from"] == "client") == sorted(texts)


async def test_a_flood_is_slowed_down_politely_and_other_clients_are_not_affected(api, runtime):
    limit = runtime.engine.rate_limiter.per_minute
    runtime.engine.rate_limiter.per_minute = 3
    try:
        chat = Chat(api, client_id="flooder")
        for _ in range(3):
            await chat.press("do:help")
            assert chat.kinds() != ["error"]
        await chat.press("do:help")
        assert chat.kinds() == ["error"] and "Подождите" in chat.text()
        calm = Chat(api, client_id="calm-client")
        await calm.press("do:help")
        assert calm.kinds() == ["info"]
    finally:
        runtime.engine.rate_limiter.per_minute = limit


async def test_a_clear_new_request_wins_over_a_flow_step_and_the_flow_waits(api):
    chat = Chat(api, client_id="interrupting-client")
    await chat.say("запишите меня на консультацию")
    assert chat.last["state"]["flow"] == "booking"
    await chat.say("покажите историю моих обращений")
    assert chat.last["understanding"]["intent"] == "show_history"
    # the history first; then, the request served, the booking's question again (kept, not lost)
    assert "истори" in chat.last["replies"][0]["text"].lower() and "Подтвердите" not in chat.text()
    assert chat.last["replies"][-2]["text"] == texts.RESUMED
    assert "Выберите, пожалуйста, тему" in chat.last["replies"][-1]["text"]
    assert chat.last["state"]["flow"] == "booking"
    await chat.press("flow:booking:t:registration")
    assert "свободное время" in chat.text().lower()
