"""The application flow's steps as plain tables (state, event → step): no
Redis, no Rasa. The form below is small and made for the tests; the real
forms run end to end in tests/test_applications.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.applications import texts
from bot.applications.flow import CONTEXT_FORM, PURPOSE, ApplicationFlow
from bot.applications.forms import Form, Forms
from bot.applications.state import AlreadySubmitted, ApplicationState, Draft, SaveDraft, Submit, Submitted
from bot.consent import texts as consent_texts
from bot.consent.gate import ConsentGate, RecordConsent
from bot.consent.model import PROFILE_FIELD, ConsentState, Grant, Kind
from bot.flows.base import FlowContext, FlowEvent
from bot.privacy.profile import SOURCES

FORM = Form.model_validate(
    {
        "id": "loan",
        "title": "Заявка на заём",
        "button": "Заём",
        "description": "Небольшой заём для бизнеса.",
        "topics": ["microloan"],
        "keywords": ["заём"],
        "fields": [
            {
                "name": "applicant",
                "title": "Форма бизнеса",
                "prompt": "Кто подаёт заявку?",
                "type": "choice",
                "profile": "segment",
                "help": "ИП или юрлицо.",
                "options": [{"id": "ip", "title": "ИП"}, {"id": "sme", "title": "ООО"}],
            },
            {
                "name": "full_name",
                "title": "ФИО",
                "prompt": "Ваши фамилия и имя?",
                "type": "full_name",
                "personal": True,
                "profile": "full_name",
                "help": "Как в паспорте.",
            },
            {
                "name": "phone",
                "title": "Телефон",
                "prompt": "Ваш телефон?",
                "type": "phone",
                "personal": True,
                "profile": "phone",
                "help": "Для связи.",
            },
            {
                "name": "email",
                "title": "E-mail",
                "prompt": "Ваш e-mail?",
                "type": "email",
                "required": False,
                "personal": True,
                "profile": "email",
                "help": "Для ответа.",
            },
        ],
    }
)
OTHER = Form.model_validate(
    {
        "id": "talk",
        "title": "Заявка на консультацию",
        "button": "Консультация",
        "description": "Разговор со специалистом.",
        "keywords": ["консультац"],
        "fields": [{"name": "topic", "title": "Тема", "prompt": "О чём поговорим?", "type": "text", "help": "Тема."}],
    }
)
FLOW = ApplicationFlow(Forms([FORM, OTHER]), org="центр «Мой бизнес»")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RUN = int(NOW.timestamp() * 1000)
CONSENTED = {
    PROFILE_FIELD: ConsentState(
        grants={
            "personal_data:applications": Grant(kind=Kind.personal_data, scope=PURPOSE, granted_at=0, channel="api")
        }
    ).model_dump_json()
}


def ctx(profile: dict[str, str] | None = None) -> FlowContext:
    return FlowContext(conversation_id="c1", client_id="u1", channel="api", profile=profile or {}, now=NOW)


def at(step: str = "ask", **fields) -> ApplicationState:
    return ApplicationState(step=step, run=RUN, form="loan", **fields)


def said(text: str, intent: str = "faq", score: float = 0.0) -> FlowEvent:
    return FlowEvent(text=text, intent=intent, score=score)


def pressed(value: str) -> FlowEvent:
    return FlowEvent(payload=value)


def text_of(step) -> str:
    return "\n".join(r.text for r in step.replies)


def saved(state: ApplicationState) -> SaveDraft:
    return SaveDraft(form=state.form, draft=state.draft())


# ------------------------------------------------------------------ start
def test_a_form_named_in_the_message_starts_with_its_intro_and_first_question():
    step = FLOW.start(ctx(), said("хочу заём"))
    assert step.state == at(current="applicant", prefill_done=True)
    assert "Заполним «Заявка на заём»" in text_of(step) and "Кто подаёт заявку?" in text_of(step)
    assert [b.payload for b in step.replies[-1].buttons][:2] == ["flow:app:c:ip", "flow:app:c:sme"]
    assert step.effects == (saved(step.state),)


def test_without_a_form_the_client_chooses_and_drafts_are_marked():
    step = FLOW.start(ctx(), said("хочу подать заявку"), drafts={"loan": Draft(answers={"applicant": "ip"})})
    assert step.state is not None and step.state.step == "choose" and step.effects == ()
    assert [b.title for b in step.replies[0].buttons] == [
        "Заём" + texts.DRAFT_MARK,
        "Консультация",
        texts.CANCEL_BUTTON,
    ]
    picked = FLOW.step(step.state, pressed("f:talk"), ctx())
    assert picked.state is not None and picked.state.form == "talk" and "О чём поговорим?" in text_of(picked)


def test_the_form_the_last_faq_pointed_to_is_taken():
    step = FLOW.start(ctx(), FlowEvent(text="подать заявку", entities={CONTEXT_FORM: "talk"}))
    assert step.state is not None and step.state.form == "talk"


def test_a_draft_is_offered_and_resumed_where_it_stopped():
    draft = Draft(
        answers={"applicant": "ip", "full_name": "Петров Иван"}, asked=("applicant", "full_name"), prefill_done=True
    )
    offer = FLOW.start(ctx(CONSENTED), said("хочу заём"), drafts={"loan": draft})
    assert offer.state is not None and offer.state.step == "resume" and "отвечено на 2 из 4" in text_of(offer)
    resumed = FLOW.step(offer.state, pressed("r"), ctx(CONSENTED))
    assert resumed.state == at(answers=draft.answers, asked=draft.asked, prefill_done=True, current="phone")
    assert "Продолжаем «Заявка на заём»" in text_of(resumed) and "Ваш телефон?" in text_of(resumed)
    again = FLOW.step(offer.state, pressed("n"), ctx(CONSENTED))
    assert again.state == at(current="applicant", prefill_done=True)  # started over: nothing kept


def test_continue_in_words_resumes_the_only_draft():
    step = FLOW.start(ctx(CONSENTED), said("продолжить заявку"), drafts={"talk": Draft(skipped=("x",))})
    assert step.state is not None and step.state.form == "talk" and step.state.skipped == ()  # unknown field dropped


# --------------------------------------------------------- consent gate
def test_consent_is_asked_right_before_the_first_personal_field():
    step = FLOW.step(at(current="applicant", prefill_done=True), pressed("c:ip"), ctx())
    assert step.state is not None and step.state.gate == ConsentGate(purpose=PURPOSE)
    assert step.state.answers == {"applicant": "ip"}
    assert consent_texts.PD_ASK.split("{")[0] in text_of(step)
    assert [b.payload for b in step.replies[0].buttons] == ["flow:app:pd_yes", "flow:app:pd_no"]
    assert step.effects == (saved(step.state),)


ASKING = at(
    current="applicant",
    prefill_done=True,
    answers={"applicant": "ip"},
    asked=("applicant",),
    gate=ConsentGate(purpose=PURPOSE),
)


def test_consent_given_is_recorded_before_the_draft_and_the_first_personal_question_follows():
    step = FLOW.step(ASKING, pressed("pd_yes"), ctx())
    assert step.state is not None and step.state.consented and step.state.gate is None
    assert step.state.current == "full_name" and "Ваши фамилия и имя?" in text_of(step)
    record, draft = step.effects
    assert isinstance(record, RecordConsent) and record.records[0]["action"] == "grant"
    assert draft == saved(step.state)


def test_consent_refused_ends_the_form_with_a_declined_record_and_no_draft():
    step = FLOW.step(ASKING, pressed("pd_no"), ctx())
    assert step.state is None and consent_texts.PD_REFUSED in text_of(step)
    [record] = step.effects
    assert isinstance(record, RecordConsent) and record.records[0]["action"] == "decline"


def test_a_question_at_the_consent_is_answered_by_the_bot():
    step = FLOW.step(ASKING, said("а зачем вам мои данные?", "faq", 0.9), ctx())
    assert step.passthrough and step.state == ASKING and step.effects == ()


# ------------------------------------------------------------ answering
FILLING = at(
    current="phone",
    prefill_done=True,
    consented=True,
    answers={"applicant": "ip", "full_name": "Петров Иван"},
    asked=("applicant", "full_name"),
)


@pytest.mark.parametrize(
    "event, current, answers, skipped, words",
    [
        (
            said("8 914 123-45-67"),
            "email",
            {"applicant": "ip", "full_name": "Петров Иван", "phone": "+79141234567"},
            (),
            "Ваш e-mail?",
        ),
        (said("8 914"), "phone", {"applicant": "ip", "full_name": "Петров Иван"}, (), "11 цифр"),
        (said("назад"), "full_name", {"applicant": "ip"}, (), "Ваши фамилия и имя?"),
        (pressed("back"), "full_name", {"applicant": "ip"}, (), "Ваши фамилия и имя?"),
        (said("пропустить"), "phone", {"applicant": "ip", "full_name": "Петров Иван"}, (), "обязательный"),
        (pressed("help"), "phone", {"applicant": "ip", "full_name": "Петров Иван"}, (), "Для связи."),
    ],
)
def test_answers_at_a_question(event, current, answers, skipped, words):
    step = FLOW.step(FILLING, event, ctx())
    assert step.state is not None and step.state.current == current
    assert step.state.answers == answers and step.state.skipped == skipped
    assert words in text_of(step)
    assert step.effects == (saved(step.state),)  # every step of a form in progress is saved


def test_an_optional_field_skipped_leads_to_the_summary():
    state = FILLING.model_copy(
        update={
            "current": "email",
            "answers": {**FILLING.answers, "phone": "+79141234567"},
            "asked": (*FILLING.asked, "phone"),
        }
    )
    step = FLOW.step(state, pressed("skip"), ctx())
    assert step.state is not None and step.state.step == "confirm" and step.state.skipped == ("email",)
    assert "Проверьте, пожалуйста, заявку" in text_of(step) and "E-mail: не указано" in text_of(step)
    assert "+7 914 123-45-67" in text_of(step)


def test_a_confident_question_instead_of_a_phone_goes_to_the_bot():
    step = FLOW.step(FILLING, said("сколько стоит госпошлина", "faq", 0.95), ctx())
    assert step.passthrough and step.state == FILLING and step.effects == ()


def test_back_at_the_first_question_says_so():
    step = FLOW.step(at(current="applicant", prefill_done=True), said("назад"), ctx())
    assert texts.FIRST_QUESTION in text_of(step)


# -------------------------------------------------------------- prefill
def test_profile_values_are_offered_once_and_taken_in_one_press():
    profile = {**CONSENTED, "segment": "ip", "full_name": "Петров Иван", "phone": "+79141234567"}
    offer = FLOW.start(ctx(profile), said("хочу заём"))
    assert offer.state is not None and offer.state.step == "prefill"
    assert offer.state.prefill == {"applicant": "ip", "full_name": "Петров Иван", "phone": "+79141234567"}
    assert "Форма бизнеса: ИП" in text_of(offer) and "Телефон: +7 914 123-45-67" in text_of(offer)
    taken = FLOW.step(offer.state, pressed("pok"), ctx(profile))
    assert taken.state is not None and taken.state.current == "email" and taken.state.prefill == {}
    assert taken.state.answers == offer.state.prefill and taken.state.prefill_done
    refused = FLOW.step(offer.state, said("нет", "deny", 0.9), ctx(profile))
    assert refused.state is not None and refused.state.current == "applicant" and refused.state.answers == {}


def test_personal_profile_values_wait_for_the_consent():
    step = FLOW.start(ctx({"full_name": "Петров Иван"}), said("хочу заём"))
    assert step.state is not None and step.state.gate is not None and "Петров" not in text_of(step)


# ------------------------------------------------------- confirm, submit
DONE = at(
    "confirm",
    consented=True,
    prefill_done=True,
    answers={"applicant": "ip", "full_name": "Петров Иван", "phone": "+79141234567"},
    skipped=("email",),
    asked=("applicant", "full_name", "phone", "email"),
)
SUBMITTED = Submitted(
    number="МБ-2026-000007", title="Заявка на заём", date="23.11.2026", status="принята", next="Мы напишем."
)


def test_send_submits_once_per_run_and_saves_no_draft():
    step = FLOW.step(DONE, pressed("send"), ctx())
    assert step.state == DONE.model_copy(update={"step": "submitting"}) and step.replies == ()
    assert step.effects == (Submit(form="loan", answers=DONE.answers, key=f"c1:{RUN}"),)
    assert FLOW.step(DONE, said("отправляйте"), ctx()).effects == step.effects


def test_submitted_says_the_number_and_keeps_the_answers_with_their_purpose():
    step = FLOW.step(DONE.model_copy(update={"step": "submitting"}), FlowEvent(outcome=SUBMITTED), ctx())
    assert step.state is None and step.effects == ()
    assert "МБ-2026-000007" in text_of(step) and texts.ALREADY_SUBMITTED not in text_of(step)
    assert step.replies[0].kind.value == "info"
    assert step.profile["segment"] == "ip"
    assert step.profile["full_name"] == "Петров Иван" and step.profile["phone"] == "+79141234567"
    assert json.loads(step.profile[SOURCES]) == {"full_name": [PURPOSE], "phone": [PURPOSE]}  # not the segment


def test_already_submitted_says_so_with_the_same_number():
    again = AlreadySubmitted(**vars(SUBMITTED))
    step = FLOW.step(DONE.model_copy(update={"step": "submitting"}), FlowEvent(outcome=again), ctx())
    assert step.state is None and texts.ALREADY_SUBMITTED in text_of(step) and "МБ-2026-000007" in text_of(step)


def test_one_answer_is_changed_from_the_summary():
    menu = FLOW.step(DONE, pressed("edit"), ctx())
    assert menu.state is not None and menu.state.step == "edit"
    asked = FLOW.step(menu.state, pressed("e:phone"), ctx())
    assert asked.state is not None and asked.state.editing and asked.state.current == "phone"
    back = FLOW.step(asked.state, said("+7 914 000-11-22"), ctx())
    assert back.state is not None and back.state.step == "confirm" and "+7 914 000-11-22" in text_of(back)
    assert back.state.answers["phone"] == "+79140001122" and not back.state.editing


def test_an_unclear_answer_at_the_summary_asks_again():
    step = FLOW.step(DONE, said("хм"), ctx())
    assert step.state == DONE and texts.CONFIRM_UNCLEAR in text_of(step)


# ------------------------------------------------------- cancel, reprompt
@pytest.mark.parametrize(
    "state, words",
    [
        (FILLING, texts.CANCELLED_WITH_DRAFT),
        (at(current="applicant", prefill_done=True), texts.CANCELLED),
    ],
)
def test_cancel_says_whether_the_answers_are_kept(state, words):
    for step in (FLOW.cancel(state, ctx()), FLOW.step(state, pressed("x"), ctx())):
        assert step.state is None and text_of(step) == words and step.effects == ()


@pytest.mark.parametrize(
    "state, words, position",
    [
        (ApplicationState(step="choose", run=RUN), texts.CHOOSE_FORM, "choose"),
        (at("resume", drafts={"loan": Draft(answers={"applicant": "ip"})}), "Продолжим с того места", "resume"),
        (FILLING, "Ваш телефон?", "ask"),
        (ASKING, consent_texts.PD_ASK.split("{")[0], "ask"),
        (DONE, "Подтвердите отправку", "confirm"),
        (DONE.model_copy(update={"step": "submitting"}), "Подтвердите отправку", "confirm"),  # a turn that broke off
        (DONE.model_copy(update={"step": "edit"}), texts.EDIT_CHOOSE, "edit"),
    ],
)
def test_reprompt_asks_the_current_question_again(state, words, position):
    step = FLOW.reprompt(state, ctx())
    assert words in text_of(step) and step.state is not None and step.state.step == position


def test_reprompt_of_offered_profile_values_offers_them_again():
    profile = {**CONSENTED, "phone": "+79141234567"}
    state = at("prefill", prefill={"phone": "+79141234567"}, answers={"applicant": "ip", "full_name": "Петров Иван"})
    step = FLOW.reprompt(state, ctx(profile))
    assert step.state == state and "Часть данных я уже знаю" in text_of(step)


def test_stored_states_round_trip_as_json():
    state = DONE.model_copy(update={"drafts": {"talk": Draft(answers={"topic": "налоги"})}, "gate": ASKING.gate})
    assert ApplicationState.model_validate(json.loads(state.model_dump_json())) == state
