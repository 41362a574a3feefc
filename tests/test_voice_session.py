"""The call state machine (pure tables), the rendering for the ear, and a
keypad-only call through the real conversation core."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.consent.ledger import Ledger
from bot.core.engine import OPERATOR_PAYLOAD, START_TOPICS
from bot.core.messages import Button, Reply, ReplyKind
from tests.voice_kit import FixedDesk, Recorder, needs_espeak
from voice import texts
from voice.call import Call
from voice.recognizer import Choice
from voice.render import Prompt, render, speakable
from voice.service import VoiceService
from voice.session import (
    Answered,
    Ask,
    BookCallback,
    Booked,
    CallContext,
    CallState,
    ConsentRecorded,
    Failed,
    HangUp,
    Heard,
    HungUp,
    Key,
    Phase,
    PlaybackDone,
    RecordConsent,
    Say,
    Silence,
    Speech,
    Start,
    StopPlayback,
    consent_answer,
    consent_prompt,
    greeting,
    main_menu,
    normalize_phone,
    spoken_key,
    step,
)

OPEN = CallContext(
    org_name="центр «Мой бизнес»",
    assistant_name="цифровой помощник",
    hours_text="Операторы работают по будням с 9 до 18 часов.",
    operator_open=True,
)
CLOSED = replace(OPEN, operator_open=False)

OPTIONS = Prompt(
    "Выберите тему:",
    keys={"1": "faq:register_ip", "2": "faq:usn", "0": OPERATOR_PAYLOAD},
    menu="1 — Регистрация ИП. 2 — УСН.",
)
LISTENING = CallState(phase=Phase.listening, prompt=greeting(OPEN))
SPEAKING = replace(LISTENING, phase=Phase.speaking)
ON_OPTIONS = replace(LISTENING, prompt=OPTIONS)
NUMBER = "79140000001"
ASKING = replace(LISTENING, number=NUMBER, asking_consent=True, prompt=consent_prompt())
CONSENT_THINKING = replace(LISTENING, number=NUMBER, phase=Phase.thinking)
REFUSED = Say(main_menu(texts.CONSENT_REFUSED.format(hours=OPEN.hours_text)))
REASK = Say(Prompt(texts.CONSENT_REASK, keys=consent_prompt().keys))


def kinds(actions) -> list[str]:
    return [type(a).__name__ for a in actions]


# ------------------------------------------------------------ pure steps
def test_greeting_introduces_assistant_and_organisation_and_asks_how_to_help():
    state, actions = step(CallState(), Start(), OPEN)
    assert state.phase is Phase.speaking and kinds(actions) == ["Say"]
    speech = actions[0].prompt.speech
    for words in (
        "Здравствуйте",
        "центр «Мой бизнес»",
        "цифровой помощник",
        "Чем могу помочь",
        "нажмите 0",
        "звёздочку",
    ):
        assert words in speech
    assert set(actions[0].prompt.keys) == {"1", "2", "3", "0"}


@pytest.mark.parametrize(
    "state, event, ctx, phase, expected",
    [
        # barge-in: speech or a key stops playback
        (SPEAKING, Speech(), OPEN, Phase.listening, [StopPlayback()]),
        (LISTENING, Speech(), OPEN, Phase.listening, []),
        (SPEAKING, Key("1"), OPEN, Phase.thinking, [StopPlayback(), Ask(payload="do:help")]),
        # keys at every step
        (LISTENING, Key("0"), OPEN, Phase.thinking, [Ask(payload=OPERATOR_PAYLOAD)]),
        (ON_OPTIONS, Key("2"), OPEN, Phase.thinking, [Ask(payload="faq:usn")]),
        (ON_OPTIONS, Key("3"), OPEN, Phase.speaking, [Say(replace(OPTIONS, body=texts.UNKNOWN_KEY))]),
        (ON_OPTIONS, Key("*"), OPEN, Phase.speaking, [Say(OPTIONS)]),
        (ON_OPTIONS, Key("#"), OPEN, Phase.listening, []),
        # a callback keeps the number: consent first, booked once the ledger has it
        (replace(LISTENING, number=NUMBER), Key("3"), OPEN, Phase.speaking, [Say(consent_prompt())]),
        (replace(LISTENING, number=NUMBER, consented=True), Key("3"), OPEN, Phase.thinking, [BookCallback(NUMBER)]),
        (ASKING, Key("1"), OPEN, Phase.thinking, [RecordConsent(True)]),
        (ASKING, Heard("да"), OPEN, Phase.thinking, [RecordConsent(True)]),
        (ASKING, Heard("первый"), OPEN, Phase.thinking, [RecordConsent(True)]),
        (ASKING, Key("2"), OPEN, Phase.speaking, [REFUSED, RecordConsent(False)]),
        (ASKING, Heard("нет, не согласна"), CLOSED, Phase.speaking, [REFUSED, RecordConsent(False)]),
        (ASKING, Heard("а сколько стоит регистрация ип"), OPEN, Phase.speaking, [REASK]),
        (ASKING, Silence(), OPEN, Phase.speaking, [REASK]),
        (ASKING, Key("0"), OPEN, Phase.thinking, [Ask(payload=OPERATOR_PAYLOAD)]),
        (CONSENT_THINKING, ConsentRecorded(True), OPEN, Phase.thinking, [BookCallback(NUMBER)]),
        (
            replace(CONSENT_THINKING, number=None),
            ConsentRecorded(True),
            OPEN,
            Phase.speaking,
            [Say(Prompt(texts.ENTER_NUMBER))],
        ),
        (
            CONSENT_THINKING,
            ConsentRecorded(True, ok=False),
            OPEN,
            Phase.speaking,
            [Say(main_menu(texts.CALLBACK_FAILED))],
        ),
        (replace(SPEAKING, prompt=REFUSED.prompt), ConsentRecorded(False), OPEN, Phase.speaking, []),
        # speech: short answers are keys, the rest goes to the core
        (ON_OPTIONS, Heard("второй"), OPEN, Phase.thinking, [Ask(payload="faq:usn")]),
        (ON_OPTIONS, Heard("соедините с оператором"), OPEN, Phase.thinking, [Ask(payload=OPERATOR_PAYLOAD)]),
        (
            ON_OPTIONS,
            Heard("как открыть ип в камчатском крае"),
            OPEN,
            Phase.thinking,
            [Ask(text="как открыть ип в камчатском крае")],
        ),
        (ON_OPTIONS, Heard(""), OPEN, Phase.listening, []),
        # timers and playback
        (SPEAKING, Silence(), OPEN, Phase.speaking, []),
        (SPEAKING, PlaybackDone(), OPEN, Phase.listening, []),
        (replace(SPEAKING, hang_up_after=True), PlaybackDone(), OPEN, Phase.ended, [HangUp()]),
        (LISTENING, HungUp(), OPEN, Phase.ended, []),
        (replace(LISTENING, phase=Phase.ended), Key("1"), OPEN, Phase.ended, []),
        (
            replace(LISTENING, phase=Phase.thinking),
            Failed(),
            OPEN,
            Phase.speaking,
            [Say(Prompt(texts.TURN_FAILED, keys={"0": OPERATOR_PAYLOAD}))],
        ),
    ],
)
def test_step_table(state, event, ctx, phase, expected):
    new, actions = step(state, event, ctx)
    assert new.phase is phase
    assert actions == expected


def test_operator_outside_hours_tells_hours_and_offers_a_callback():
    state, actions = step(LISTENING, Key("0"), CLOSED)
    prompt = actions[0].prompt
    assert "Сейчас операторы не работают" in prompt.speech and CLOSED.hours_text in prompt.speech
    assert prompt.keys["1"] == "voice:callback" and prompt.keys["2"] == "voice:menu"
    state, actions = step(replace(state, number="79140000002"), Key("1"), CLOSED)
    assert actions[-1] == Say(consent_prompt()) and state.asking_consent
    state, actions = step(state, Key("1"), CLOSED)
    assert actions[-1] == RecordConsent(True) and not state.asking_consent
    state, actions = step(state, ConsentRecorded(True), CLOSED)
    assert actions == [BookCallback("79140000002")] and state.consented
    state, actions = step(state, Booked("Записал."), CLOSED)
    assert actions[0].prompt.body.startswith("Записал.") and state.phase is Phase.speaking


def test_hours_on_request_by_key_and_by_voice():
    for event in (Key("2"), Heard("какие у вас часы работы")):
        _, actions = step(LISTENING, event, OPEN)
        assert OPEN.hours_text in actions[0].prompt.body


def test_consent_question_says_what_is_kept_and_why_in_one_sentence():
    ask = consent_prompt().speech
    first, second = ask.split(". ", 1)[0], ask.split(". ", 1)[1]
    assert "номер телефона" in first and "перезвонил" in first
    assert second.startswith("Нажмите 1 или скажите «да», если согласны.")
    refused = REFUSED.prompt.speech
    assert "не буду" in refused and "в рабочее время" in refused and OPEN.hours_text in refused
    assert "вопрос" in refused and refused.count("нажмите 0") == 1  # the way to a human stays


@pytest.mark.parametrize(
    "text, answer",
    [
        ("да", True),
        ("да конечно", True),
        ("согласна", True),
        ("нет", False),
        ("не согласен", False),
        ("алло", None),
        ("да я хочу узнать как открыть ип и сколько стоит", None),
    ],
)
def test_consent_answer(text, answer):
    assert consent_answer(text) is answer


def test_callback_with_unknown_number_is_typed_on_the_keypad():
    state, actions = step(LISTENING, Key("3"), OPEN)
    assert actions[0] == Say(consent_prompt())
    state, actions = step(state, Heard("да"), OPEN)
    state, actions = step(state, ConsentRecorded(True), OPEN)
    assert actions[0].prompt.body == texts.ENTER_NUMBER and state.entry == ""
    for digit in "8914123":
        state, actions = step(state, Key(digit), OPEN)
        assert actions in ([], [StopPlayback()])
    state, actions = step(state, Key("#"), OPEN)
    assert actions[-1].prompt.body == texts.BAD_NUMBER and state.entry == ""
    for digit in "89141234567#":
        state, actions = step(state, Key(digit), OPEN)
    assert actions[-1] == BookCallback("79141234567") and state.entry is None
    state, actions = step(replace(state, phase=Phase.listening, entry="89"), Key("*"), OPEN)
    assert state.entry is None and actions[-1].prompt.body == texts.HOURS_FOLLOW_UP


def test_two_low_confidence_results_switch_to_the_keypad():
    state, actions = step(ON_OPTIONS, Heard("что-то", confidence=0.2), OPEN)
    assert actions[0].prompt.body == texts.NOT_HEARD and actions[0].prompt.keys == OPTIONS.keys
    assert not state.keypad_only
    state, actions = step(state, Heard("непонятно", confidence=0.3), OPEN)
    assert state.keypad_only and actions[0].prompt.body == texts.KEYPAD_FALLBACK
    assert set(actions[0].prompt.keys) == {"1", "2", "3", "0"}
    state, actions = step(replace(state, phase=Phase.listening), Heard("шум", confidence=0.1), OPEN)
    assert actions[0].prompt.body == texts.NOT_HEARD_KEYPAD
    state, actions = step(replace(state, phase=Phase.listening), Key("1"), OPEN)
    assert actions == [Ask(payload="do:help")]
    # a confident recognition resets the count
    state, _ = step(ON_OPTIONS, Heard("что-то", confidence=0.2), OPEN)
    state, _ = step(replace(state, phase=Phase.listening), Heard("первый", confidence=0.9), OPEN)
    assert state.low_confidence == 0


def test_silence_reprompts_then_offers_operator_then_says_goodbye():
    state = ON_OPTIONS
    said = []
    for _ in range(3):
        state, actions = step(state, Silence(), OPEN)
        said.append(actions[0].prompt)
        state, actions = step(state, PlaybackDone(), OPEN)
    assert said[0].body == texts.REPROMPT and said[0].menu == OPTIONS.menu
    assert said[1].body == texts.OFFER_OPERATOR
    assert said[2].body == texts.GOODBYE_SILENCE
    assert state.phase is Phase.ended and actions == [HangUp()]
    # any sign of life resets the count
    state, _ = step(ON_OPTIONS, Silence(), OPEN)
    state, _ = step(state, Speech(), OPEN)
    assert state.silences == 0


def test_core_replies_are_spoken_with_keypad_digits():
    replies = (
        Reply(
            kind=ReplyKind.answer,
            text="Зарегистрируйте ИП онлайн.\n\nИсточник: ФНС России — https://www.nalog.gov.ru/",
            faq_id="register_ip",
        ),
        Reply(
            kind=ReplyKind.ask_resolved,
            text="Помог ли этот ответ?",
            buttons=[
                Button(title="👍 Да, помогло", payload="ok:register_ip"),
                Button(title="👎 Нет", payload="nok:register_ip"),
                Button(title="👤 Соединить с оператором", payload=OPERATOR_PAYLOAD),
            ],
        ),
    )
    state, actions = step(replace(LISTENING, phase=Phase.thinking), Answered(replies), OPEN)
    prompt = actions[0].prompt
    assert prompt.keys == {"1": "ok:register_ip", "2": "nok:register_ip", "0": OPERATOR_PAYLOAD}
    assert "http" not in prompt.speech and "Источник — ФНС России." in prompt.speech
    assert "1 — Да, помогло. 2 — Нет. Скажите номер или нажмите 1 или 2." in prompt.speech
    assert "нажмите 0" in prompt.speech
    _, actions = step(replace(LISTENING, phase=Phase.thinking), Answered((), with_operator=True), OPEN)
    assert actions[0].prompt.body == texts.WITH_OPERATOR
    state, _ = step(
        replace(LISTENING, phase=Phase.thinking),
        Answered((Reply(kind=ReplyKind.info, text="Всего доброго!"),), intent="goodbye"),
        OPEN,
    )
    assert state.hang_up_after


@pytest.mark.parametrize(
    "written, spoken",
    [
        ("Здравствуйте! 👋 Я помощник.", "Здравствуйте! Я помощник."),
        (
            "Вот что я умею:\n• отвечать на вопросы;\n• соединять с оператором.",
            "Вот что я умею: Отвечать на вопросы. Соединять с оператором.",
        ),
        ("Напишите вопрос или выберите тему ниже.", "Скажите вопрос или выберите тему."),
        ("Лимит — 100 000 ₽ в год.", "Лимит — 100000 рублей в год."),
        ("Подробнее: https://msp.gov.ru/page — там всё.", "Подробнее: — там всё."),
        (
            "Они на связи: пн–чт с 9:00 до 18:00, пт с 9:00 до 17:30.",
            "Они на связи: с понедельника по четверг с 9 до 18, в пятницу с 9 до 17 30.",
        ),
        ("Источник: Цифровая платформа МСП.РФ — https://xn--l1agf.xn--p1ai/", "Источник — Цифровая платформа МСП.РФ."),
        (
            "Операторы работают: пн–чт с 9:00 до 18:00, пт с 9:00 до 17:00 (по камчатскому времени).",
            "Операторы работают: с понедельника по четверг с 9 до 18, в пятницу с 9 до 17 по камчатскому времени.",
        ),
        (
            "Оператор перезвонит вам на номер +7 *** ***-45-67 завтра в 9:30 (по камчатскому времени). "
            "Если планы изменятся, напишите нам здесь.",
            "Оператор перезвонит вам на номер с окончанием 45 67, завтра в 9 30 по камчатскому времени. "
            "Если планы изменятся, позвоните нам.",
        ),
        ("Перезвонить на номер +7 *** ***-45-67?", "Перезвонить на номер с окончанием 45 67?"),
        ("✅ Согласен(на)", "Согласен(на)."),
    ],
)
def test_speakable(written, spoken):
    assert speakable(written) == spoken


@pytest.mark.parametrize(
    "text, keys, expected",
    [
        ("два", {"1": "a", "2": "b"}, "2"),
        ("давайте первый", {"1": "a"}, "1"),
        ("пять", {"1": "a"}, None),
        ("ноль", {}, "0"),
        ("повторите пожалуйста", {}, "*"),
        ("перезвоните мне", {}, "voice:callback"),
        ("хочу открыть ип и узнать про два налога", {"2": "b"}, None),
    ],
)
def test_spoken_key(text, keys, expected):
    assert spoken_key(text, keys) == expected


@pytest.mark.parametrize(
    "typed, phone",
    [
        ("89141234567", "79141234567"),
        ("9141234567", "79141234567"),
        ("79141234567", "79141234567"),
        ("12345", None),
        ("1234567890123456", None),
    ],
)
def test_normalize_phone(typed, phone):
    assert normalize_phone(typed) == phone


def test_only_russian_numbers_are_called_back():
    """Another country's caller id is not booked: a Russian number is asked for instead, and one typed
    from another country (Kazakhstan shares +7) is refused with its own words, not «digits missing»."""
    state, actions = step(replace(LISTENING, number="12025550143", consented=True), Key("3"), OPEN)
    assert actions[-1].prompt.body == texts.NOT_RUSSIAN_CALLER and state.entry == ""
    for digit in "87011234567#":
        state, actions = step(state, Key(digit), OPEN)
    assert actions[-1].prompt.body == texts.NOT_RUSSIAN_NUMBER and state.entry == ""
    for digit in "8914123456#":  # a digit short: not read as another number
        state, actions = step(state, Key(digit), OPEN)
    assert actions[-1].prompt.body == texts.BAD_NUMBER


def test_render_puts_options_on_digits_and_operator_on_zero():
    prompt = render(
        [
            Reply(
                kind=ReplyKind.options,
                text="Выберите тему:",
                buttons=[
                    Button(title="Регистрация ИП", payload="faq:register_ip"),
                    Button(title="УСН", payload="faq:usn"),
                    Button(title="Патент", payload="faq:patent"),
                    Button(title="Другое — соединить с оператором", payload=OPERATOR_PAYLOAD),
                ],
            )
        ]
    )
    assert prompt.keys == {"1": "faq:register_ip", "2": "faq:usn", "3": "faq:patent", "0": OPERATOR_PAYLOAD}
    assert "Скажите номер или нажмите 1, 2 или 3." in prompt.menu


# ------------------------------------------- a keypad-only call, for real
async def _start(runtime, desk, call_id, number=None):
    service = VoiceService(runtime, choice=Choice(""), desk=desk, pace=False, silence_seconds=600)
    output = Recorder()
    call = Call(service, call_id, output, number=number)
    return service, output, call


@needs_espeak
async def test_keypad_only_call_reaches_a_faq_answer_and_an_operator(runtime):
    desk = FixedDesk(open_=True)
    service, out, call = await _start(runtime, desk, "keypad-faq-1")
    running = asyncio.create_task(call.run())
    hello = await out.next_say()
    assert "Здравствуйте" in hello["text"] and "цифровой помощник" in hello["text"]
    await asyncio.wait_for(out.audio_started.wait(), 10)  # the greeting is synthesized and sent

    call.key("1")  # «частые вопросы»
    topics = await out.next_say()
    first_topic = runtime.kb[START_TOPICS[0]]
    assert "1 — " in topics["text"] and "Нажмите 1" in topics["text"]
    assert "Скажите" not in topics["text"]  # nothing listens: the caller is not asked to speak

    call.key("1")  # the first topic
    answer = await out.next_say()
    assert "Источник —" in answer["text"] and "http" not in answer["text"]
    assert "Помог ли этот ответ?" in answer["text"] and {"1", "2", "0"} <= set(answer["keys"])

    call.key("0")  # operator
    handoff = await out.next_say()
    assert handoff["text"]

    history = await runtime.engine.conversations.history("voice:keypad-faq-1")
    client_payloads = [e.get("payload") for e in history if e["from"] == "client"]
    assert client_payloads == ["do:help", f"faq:{first_topic.id}", OPERATOR_PAYLOAD]
    assert any(e["from"] == "bot" and e.get("faq_id") == first_topic.id for e in history)
    assert any(e["from"] == "bot" and e["kind"] == "handoff" for e in history)
    assert all(e.get("channel") == "voice" for e in history if e["from"] == "client")

    call.hang_up()
    await asyncio.wait_for(running, 10)
    assert "voice:keypad-faq-1" not in service.calls


@needs_espeak
async def test_outside_hours_a_caller_books_a_callback_by_keypad(runtime):
    desk = FixedDesk(open_=False)
    _, out, call = await _start(runtime, desk, "keypad-callback-1", number="79140000003")
    running = asyncio.create_task(call.run())
    await out.next_say()
    call.key("0")
    closed = await out.next_say()
    assert "Сейчас операторы не работают" in closed["text"] and desk.hours_text() in closed["text"]
    call.key("1")
    consent = await out.next_say()
    assert consent["text"].startswith(texts.CONSENT_ASK) and desk.booked == []
    call.key("1")
    booked = await out.next_say()
    assert "перезвонит" in booked["text"]
    assert desk.booked == [("79140000003", "voice:keypad-callback-1")]
    call.hang_up()
    await asyncio.wait_for(running, 10)
    [record] = await Ledger(runtime.redis).records("phone:79140000003")
    assert (record.kind.value, record.scope, record.action.value, record.channel, record.text_id) == (
        "personal_data",
        "callback",
        "grant",
        "voice",
        texts.CONSENT_TEXT_ID,
    )

    # the same number calls again: the saved consent is reused, not asked twice
    _, out, call = await _start(runtime, desk, "keypad-callback-2", number="79140000003")
    running = asyncio.create_task(call.run())
    await out.next_say()
    call.key("3")
    assert "перезвонит" in (await out.next_say())["text"]
    assert desk.booked[-1] == ("79140000003", "voice:keypad-callback-2")
    call.hang_up()
    await asyncio.wait_for(running, 10)


@needs_espeak
async def test_a_caller_who_refuses_consent_is_not_booked_and_hears_what_to_do(runtime):
    desk = FixedDesk(open_=False)
    _, out, call = await _start(runtime, desk, "keypad-refuse-1", number="79140000013")
    running = asyncio.create_task(call.run())
    await out.next_say()
    call.key("3")
    assert (await out.next_say())["text"].startswith(texts.CONSENT_ASK)
    call.key("2")
    refused = await out.next_say()
    assert "не буду" in refused["text"] and desk.hours_text() in refused["text"]
    call.hang_up()
    await asyncio.wait_for(running, 10)
    assert desk.booked == []
    [record] = await Ledger(runtime.redis).records("phone:79140000013")
    assert record.action.value == "decline" and record.channel == "voice"


@needs_espeak
async def test_operator_message_is_read_into_the_live_call(runtime):
    _, out, call = await _start(runtime, FixedDesk(), "operator-says-1")
    running = asyncio.create_task(call.run())
    await out.next_say()
    assert await call.service.deliver(
        "voice:operator-says-1",
        call.client_id,
        [Reply(kind=ReplyKind.operator, text="Здравствуйте, это оператор Анна.")],
    )
    said = await out.next_say()
    assert said["text"].startswith(texts.FROM_OPERATOR) and "оператор Анна" in said["text"]
    call.hang_up()
    await asyncio.wait_for(running, 10)
    assert not await call.service.deliver("voice:operator-says-1", call.client_id, [])


# ------------------------------------------- a list longer than the keypad
SLOT_TIMES = [f"{h}:{m:02d}" for h in range(9, 17) for m in (0, 30)]  # a booking's whole day: 16 times
LONG_LIST = (
    Reply(
        kind=ReplyKind.flow,
        text="Свободное время в понедельник:",
        buttons=[Button(title=t, payload=f"flow:booking:s:{n}") for n, t in enumerate(SLOT_TIMES)]
        + [Button(title="👤 Соединить с оператором", payload=OPERATOR_PAYLOAD)],
    ),
)


def test_a_list_longer_than_the_keypad_is_read_eight_at_a_time_with_9_for_more():
    state, actions = step(replace(LISTENING, phase=Phase.thinking), Answered(LONG_LIST), OPEN)
    first = actions[0].prompt
    assert [first.keys[str(n)] for n in range(1, 9)] == [f"flow:booking:s:{n}" for n in range(8)]
    assert first.keys["9"] == "voice:page:1" and first.keys["0"] == OPERATOR_PAYLOAD
    assert "Свободное время в понедельник:" in first.speech and "1 — 9. 2 — 9 30." in first.speech
    assert "9 — другие варианты." in first.speech and "нажмите 1, 2, 3, 4, 5, 6, 7, 8 или 9" in first.speech

    state, actions = step(replace(state, phase=Phase.listening), Key("9"), OPEN)
    second = actions[-1].prompt
    assert second.body == texts.NEXT_PAGE and "1 — 13." in second.speech  # the 9th time, 13:00, is now on 1
    assert second.keys["1"] == "flow:booking:s:8" and second.keys["9"] == "voice:page:0"
    assert "9 — вернуться к началу списка." in second.speech and "нажмите 0" in second.speech

    state, actions = step(replace(state, phase=Phase.listening), Key("2"), OPEN)  # a time on the second page
    assert actions == [Ask(payload="flow:booking:s:9")]

    state, actions = step(replace(state, phase=Phase.listening, prompt=second), Heard("девятый"), OPEN)
    assert actions[-1].prompt.keys["1"] == "flow:booking:s:0" and actions[-1].prompt.body == texts.FIRST_PAGE
    _, actions = step(replace(state, phase=Phase.listening), Heard("другие варианты"), OPEN)
    assert actions[-1].prompt.keys["1"] == "flow:booking:s:8"  # said in words: the next page


def test_a_long_list_keeps_its_pages_after_a_silence_and_nine_options_need_no_paging():
    state, _ = step(replace(LISTENING, phase=Phase.thinking), Answered(LONG_LIST), OPEN)
    state, _ = step(replace(state, phase=Phase.listening), Silence(), OPEN)
    state, actions = step(replace(state, phase=Phase.listening), Silence(), OPEN)  # the offer of the operator
    state, actions = step(replace(state, phase=Phase.listening), Key("9"), OPEN)
    assert actions[-1].prompt.keys["1"] == "flow:booking:s:8"
    nine = (LONG_LIST[0].model_copy(update={"buttons": LONG_LIST[0].buttons[:9]}),)
    _, actions = step(replace(LISTENING, phase=Phase.thinking), Answered(nine), OPEN)
    assert actions[0].prompt.keys["9"] == "flow:booking:s:8" and "другие варианты" not in actions[0].prompt.speech
    assert spoken_key("другие", actions[0].prompt.keys) is None  # no other page to turn to
