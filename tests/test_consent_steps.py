"""Pure parts of consent and privacy: the consent flow's and the erasure flow's
steps as tables (state, event → step), outcomes included, and what each asks
again after a detour. No I/O: no Redis, no Rasa."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.consent.flows import ConsentFlow, MenuState
from bot.consent.gate import RecordConsent
from bot.consent.model import PROFILE_FIELD, ConsentState, Grant, Kind
from bot.consent.withdrawal import DataDeleted, ForgetPersonalData
from bot.flows.base import FlowContext, FlowEvent
from bot.privacy import texts as privacy_texts
from bot.privacy.flow import CONFIRM_SECONDS, EraseClientData, ErasureFlow, ErasureState

ORG = "центр «Мой бизнес»"
NOW = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)
FLOW = ConsentFlow(org=ORG, tz=ZoneInfo("Asia/Kamchatka"), default_quiet="21:00-09:00")


def ctx(*grants: Grant, now: datetime = NOW) -> FlowContext:
    consents = ConsentState(grants={g.key: g for g in grants})
    return FlowContext(
        conversation_id="c", client_id="k", channel="api", profile={PROFILE_FIELD: consents.model_dump_json()}, now=now
    )


def grant(kind: Kind, scope: str, title: str = "") -> Grant:
    return Grant(kind=kind, scope=scope, granted_at=NOW.timestamp() - 86400, channel="api", title=title)


TAXES = grant(Kind.situation, "taxes", "сообщения по теме «налоги»")
CALLBACK = grant(Kind.personal_data, "callback")
APPLICATIONS = grant(Kind.personal_data, "applications")


def records(step) -> list[tuple[str, str, str]]:
    return [
        (r["kind"], r["scope"], r["action"]) for e in step.effects if isinstance(e, RecordConsent) for r in e.records
    ]


# ------------------------------------------------------------------ consent
@pytest.mark.parametrize(
    "event, grants, step, words",
    [
        (FlowEvent(intent="give_consent", entities={"life_situation": "taxes"}), (), "confirm", "Прошу подтвердить"),
        (FlowEvent(intent="give_consent"), (), "give", "Выберите тему кнопкой"),
        (FlowEvent(intent="consent_status"), (), None, "Вы пока не давали мне согласий"),
        (FlowEvent(), (TAXES,), None, "Ваши согласия:"),  # a button: no intent
        (FlowEvent(intent="revoke_consent"), (), None, "У вас нет действующих согласий"),
        (FlowEvent(intent="revoke_consent"), (TAXES,), "revoke", "Какое согласие отозвать?"),
        (FlowEvent(intent="notification_settings"), (), "prefs", "Тихие часы (местное время): 21:00–09:00"),
    ],
)
def test_each_menu_opens_in_one_step(event, grants, step, words):
    started = FLOW.start(ctx(*grants), event)
    assert (started.state.step if started.state else None) == step
    assert words in started.replies[0].text and started.effects == ()


@pytest.mark.parametrize(
    "state, event, expect",
    [
        (
            MenuState(step="give"),
            FlowEvent(text="налоги", intent="give_consent", score=0.4, entities={"life_situation": "taxes"}),
            "granted",
        ),
        (MenuState(step="confirm", situation="taxes"), FlowEvent(text="да", intent="affirm", score=0.9), "granted"),
        (MenuState(step="confirm", situation="taxes"), FlowEvent(text="спасибо", intent="thank", score=0.9), "granted"),
        (MenuState(step="revoke"), FlowEvent(text="нет", intent="deny", score=0.9), "cancelled"),
        (MenuState(step="prefs"), FlowEvent(text="не надо", intent="deny", score=0.8), "cancelled"),
        (MenuState(step="give"), FlowEvent(text="как открыть ип", intent="faq", score=0.9), "passthrough"),
        (
            MenuState(step="revoke"),
            FlowEvent(text="удалите мои данные", intent="revoke_consent", score=0.9, entities={"erase": "удалите"}),
            "ends, passed on",
        ),
        (MenuState(step="prefs"), FlowEvent(text="мои согласия", intent="consent_status", score=0.9), "status"),
        (MenuState(step="deleting"), FlowEvent(text="да", intent="affirm", score=0.9), "ends, passed on"),
    ],
)
def test_text_in_a_menu(state, event, expect):
    step = FLOW.step(state, event, ctx())
    if expect == "granted":
        assert step.state is None and "Готово ✅ С 12.03.2025" in step.replies[0].text
        assert records(step) == [("situation", "taxes", "grant")]
    elif expect == "cancelled":
        assert step.state is None and "ничего не меняю" in step.replies[0].text and step.effects == ()
    elif expect == "passthrough":
        assert step.passthrough and step.state == state
    elif expect == "ends, passed on":
        assert step.passthrough and step.state is None
    else:
        assert step.state is None and "Вы пока не давали мне согласий" in step.replies[0].text


@pytest.mark.parametrize(
    "value, grants, expect",
    [
        ("g:taxes", (), [("situation", "taxes", "grant")]),
        ("g:*", (), [("situation", "*", "grant")]),
        ("g:taxes", (TAXES,), []),  # already given: said so, nothing written
        ("r:situation:taxes", (TAXES,), [("situation", "taxes", "withdraw")]),
        ("r:situation:taxes", (), []),  # already withdrawn
        ("pf:content:weekly", (), [("notify", "content", "set")]),
        ("qs:off", (), [("notify", "quiet", "set")]),
        ("pf:content:hourly", (), []),  # a bent button
        ("bogus", (), []),
    ],
)
def test_buttons_write_the_ledger_once_and_end(value, grants, expect):
    step = FLOW.press(value, ctx(*grants))
    assert step.state is None and records(step) == expect and len(step.replies) == 1
    assert not [e for e in step.effects if isinstance(e, ForgetPersonalData)]


def test_withdrawing_personal_data_waits_for_what_was_deleted():
    step = FLOW.press("r:all", ctx(TAXES, CALLBACK, APPLICATIONS))
    assert step.state == MenuState(step="deleting")
    assert "согласие отозвано 12.03.2025" in step.replies[0].text and "больше не обрабатываю" in step.replies[0].text
    # the ledger first: the deletion reads which consents are still active
    assert records(step) == [
        ("situation", "taxes", "withdraw"),
        ("personal_data", "callback", "withdraw"),
        ("personal_data", "applications", "withdraw"),
    ]
    assert step.effects[-1] == ForgetPersonalData(("callback", "applications"))

    deleted = DataDeleted(
        deleted=("телефон из вашего профиля",),
        kept=("поданные заявки МБ-2025-000001",),
        profile={"phone": None, "pd_sources": None},
        flows=("app", "callback"),
    )
    done = FLOW.step(step.state, FlowEvent(outcome=deleted), ctx())
    assert done.state is None and done.ends == ("app", "callback")  # forms with that data do not come back
    assert done.profile == {"phone": None, "pd_sources": None}  # the turn forgets them too
    assert done.replies[0].text.startswith("Удалил данные, которые вы сообщали для этой цели: телефон")
    assert "Сохраняются: поданные заявки МБ-2025-000001" in done.replies[0].text


def test_a_withdrawn_personal_data_consent_finishes_its_deletion_again():
    step = FLOW.press("r:personal_data:callback", ctx())
    assert step.replies[0].text.startswith("Вы уже отписаны")
    assert step.state == MenuState(step="deleting") and step.effects == (ForgetPersonalData(("callback",)),)
    nothing = FLOW.step(step.state, FlowEvent(outcome=DataDeleted()), ctx())
    assert "удалять нечего" in nothing.replies[0].text
    unchecked = FLOW.step(step.state, FlowEvent(outcome=DataDeleted(checked=False)), ctx())
    assert unchecked.state is None and unchecked.replies == ()  # nobody deletes data: nothing more to claim


@pytest.mark.parametrize(
    "state, grants, words",
    [
        (MenuState(step="give"), (TAXES,), "Выберите тему кнопкой"),
        (MenuState(step="confirm", situation="support"), (), "«господдержка»"),
        (MenuState(step="revoke"), (TAXES,), "Какое согласие отозвать?"),
        (MenuState(step="revoke"), (), "У вас нет действующих согласий"),  # withdrawn meanwhile: the menu ends
        (MenuState(step="prefs"), (), "Настройки уведомлений"),
    ],
)
def test_back_after_a_detour_the_menu_as_it_is_now(state, grants, words):
    again = FLOW.reprompt(state, ctx(*grants))
    assert words in again.replies[0].text and again.effects == ()
    assert again.state == (state if grants or state.step != "revoke" else None)
    if state.step == "give":
        assert "✓ Налоги" in [b.title for b in again.replies[0].buttons]
    assert FLOW.reprompt(MenuState(step="deleting"), ctx()).state is None


# ------------------------------------------------------------------ erasure
INVENTORY = privacy_texts.Inventory(applications=["МБ-2025-000007"], payments=2, with_operator=True)
ASKED = ErasureState(asked_at=NOW.timestamp(), applications=("МБ-2025-000007",), payments=2, with_operator=True)


def test_erasure_is_asked_with_what_is_kept():
    step = ErasureFlow().start(ctx(), FlowEvent(intent="revoke_consent"), INVENTORY)
    assert step.state == ASKED and step.effects == ()
    text = step.replies[0].text
    assert "Вот что я удалю" in text and "МБ-2025-000007" in text and "(2)" in text and "будет завершён" in text
    assert [b.payload for b in step.replies[0].buttons] == ["flow:privacy:yes", "flow:privacy:no"]


@pytest.mark.parametrize(
    "event, later, expect",
    [
        (FlowEvent(payload="yes"), 0, "erase"),
        (FlowEvent(text="Да, удалить!"), 0, "erase"),
        (FlowEvent(text="ага", intent="affirm", score=0.8), 0, "erase"),
        (FlowEvent(payload="yes"), CONFIRM_SECONDS + 1, "expired"),
        (FlowEvent(payload="no"), 0, "kept"),
        (FlowEvent(text="не удаляйте"), 0, "kept"),
        (FlowEvent(text="как открыть ип", intent="faq", score=0.9), 0, "passed on"),
        (FlowEvent(payload="maybe"), 0, "not confirmed"),
    ],
)
def test_only_an_answer_to_the_question_erases(event, later, expect):
    later_ctx = ctx(now=datetime.fromtimestamp(NOW.timestamp() + later, UTC))
    step = ErasureFlow().step(ASKED, event, later_ctx)
    assert step.state is None
    if expect == "erase":
        assert step.effects == (EraseClientData(),) and step.replies == ()
        return
    assert step.effects == ()
    if expect == "passed on":
        assert step.passthrough
    else:
        words = {"expired": "устарело", "kept": "ничего не удаляю", "not confirmed": "явное подтверждение"}[expect]
        assert words in step.replies[0].text


def test_erasure_asked_again_after_a_detour_counts_from_then():
    later = ctx(now=datetime.fromtimestamp(NOW.timestamp() + 2 * CONFIRM_SECONDS, UTC))
    again = ErasureFlow().reprompt(ASKED, later)
    assert again.state == ASKED.model_copy(update={"asked_at": later.now.timestamp()})
    assert "МБ-2025-000007" in again.replies[0].text
    assert ErasureFlow().step(again.state, FlowEvent(payload="yes"), later).effects == (EraseClientData(),)


def test_what_the_erasure_did_is_said_by_the_flow():
    [said] = ErasureFlow().erased(["профиль (ФИО)"], ["журнал ваших согласий"])
    assert said.text.startswith(privacy_texts.ERASED_HEAD) and "Удалено: профиль (ФИО)." in said.text
