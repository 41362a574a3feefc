"""Consent conversations through the HTTP API with the real Rasa model and
Redis: give, view and withdraw in one press each; a proactive message's
«Отписаться» works at once and stops what is queued; personal-data consent
is asked only when a flow needs the data, and a refusal is respected."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import pytest_asyncio

from bot.consent import keys as consent_keys
from bot.consent.campaigns import Campaign, create_campaign, launch_campaign
from bot.consent.documents import load_documents, show
from bot.consent.gate import ConsentGate, RecordConsent, consent_gate
from bot.consent.ledger import Ledger
from bot.consent.model import PROFILE_FIELD, Kind
from bot.consent.notifications import Sender
from bot.core.messages import Incoming
from bot.flows.base import FlowContext, FlowEvent, FlowState, Step, button, reply
from bot.store import keys
from tests.chat import Chat
from tests.conftest import API_KEY

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
ORG = "центр «Мой бизнес»"


def scoped(client_id: str) -> str:
    return f"api:{KEY_ID}:{client_id}"


def unique(name: str) -> str:
    return f"{name}-{time.time_ns()}"


async def test_a_question_never_needs_consent(api):
    chat = Chat(api, client_id=unique("faq-only"))
    await chat.say("как открыть ип")
    assert chat.kinds() == ["answer", "ask_resolved"]
    assert "согласи" not in chat.text().lower()


async def test_give_view_and_withdraw_one_press_each(api, runtime):
    chat = Chat(api, client_id=unique("consent-api"))
    ledger = Ledger(runtime.redis)

    await chat.say("подпишите меня на уведомления")
    assert chat.last["state"]["flow"] == "consent"
    assert "Нажимая кнопку, вы соглашаетесь" in chat.text()
    assert "flow:consent:g:taxes" in [b["payload"] for b in chat.buttons()]
    await chat.press("flow:consent:g:taxes")
    assert "Готово" in chat.text() and "«налоги»" in chat.text()
    assert chat.last["state"]["flow"] is None

    state = await ledger.state(scoped(chat.client_id))
    grant = state.grants["situation:taxes"]
    expected = show(load_documents().for_kind(Kind.situation), ORG, "по теме «налоги»")
    assert (grant.channel, grant.text_id, grant.version, grant.sha256) == (
        "api",
        expected.text_id,
        "1",
        expected.sha256,
    )
    assert await ledger.cached(scoped(chat.client_id)) == state

    await chat.say("на что я давал согласие")
    today = datetime.now(ZoneInfo(runtime.settings.notify_timezone)).strftime("%d.%m.%Y")
    assert "Ваши согласия:" in chat.text()
    assert f"с {today} — сообщения о мерах поддержки и услугах по теме «налоги»" in chat.text()

    await chat.say("отпишите меня")
    assert "Какое согласие отозвать?" in chat.text()
    await chat.press_title("Тема «налоги»")
    assert "согласие отозвано" in chat.text()
    state = await ledger.state(scoped(chat.client_id))
    assert state.grants == {} and "situation:taxes" in state.withdrawn

    await chat.say("мои согласия")
    assert "Отозванные:" in chat.text() and "отозвано" in chat.text()


async def test_notification_settings_with_buttons(api, runtime):
    chat = Chat(api, client_id=unique("prefs"))
    await chat.say("настройки уведомлений")
    assert "Настройки уведомлений:" in chat.text()
    await chat.press("flow:consent:pc:content")
    await chat.press_title("Раз в неделю")
    assert "раз в неделю" in chat.text()
    await chat.press("flow:consent:q")
    await chat.press_title("Не ограничивать")
    assert "тихие часы — не заданы" in chat.text()
    state = await Ledger(runtime.redis).state(scoped(chat.client_id))
    assert state.frequency["content"].value == "weekly" and state.quiet == "off"
    # a button (Telegram's /settings) starts the same menu as the words
    await chat.press("do:notification_settings")
    assert "Настройки уведомлений:" in chat.text()


async def _outbox(api, cid: str, after: str | None = None) -> dict:
    resp = await api.get(f"/api/v1/conversations/{cid}/messages", params={"after": after} if after else None)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_unsubscribe_from_a_proactive_message_works_at_once(api, runtime):
    chat = Chat(api, client_id=unique("unsub"))
    await chat.press("do:give_consent")
    await chat.press("flow:consent:g:support")
    midday = datetime.now(ZoneInfo(runtime.settings.notify_timezone)).replace(hour=12, minute=0)
    sender = Sender.for_runtime(runtime, clock=lambda: midday.timestamp())

    first = await create_campaign(
        runtime.redis,
        Campaign(
            id=unique("grant-news"),
            title="Новый грант",
            category="content",
            life_situation="support",
            text="Открыт приём заявок на грант для начинающих предпринимателей.",
        ),
    )
    await launch_campaign(runtime.redis, first.id)
    await sender.drain()
    page = await _outbox(api, chat.cid)
    [message] = [r for r in page["replies"] if first.text in r["text"]]
    assert "дали согласие: сообщения о мерах поддержки и услугах по теме «господдержка»" in message["text"]
    unsubscribe = message["buttons"][0]
    assert unsubscribe["title"] == "Отписаться"

    # queued but not yet sent when the client unsubscribes
    second = await create_campaign(
        runtime.redis,
        Campaign(
            id=unique("grant-more"),
            title="Ещё грант",
            category="content",
            life_situation="support",
            text="Продлён приём заявок на грант.",
        ),
    )
    await launch_campaign(runtime.redis, second.id)
    queued = consent_keys.notification(f"c:{second.id}:{scoped(chat.client_id)}")
    assert (await runtime.redis.hgetall(queued))["status"] == "queued"
    await chat.press(unsubscribe["payload"])
    assert "согласие отозвано" in chat.text()
    await sender.drain()
    later = await _outbox(api, chat.cid, page["cursor"])
    assert later["replies"] == []
    assert (await runtime.redis.hgetall(queued))["status"] == "skipped"


async def test_consent_in_the_terminal_chat(runtime):
    """The terminal channel talks to the same engine: give and view there too."""
    client, cid = unique("terminal:local"), unique("terminal")

    async def send(**kw) -> str:
        result = await runtime.engine.handle(Incoming(conversation_id=cid, channel="terminal", client_id=client, **kw))
        return "\n".join(r.text for r in result.replies)

    assert "Нажимая кнопку" in await send(text="хочу получать уведомления")
    assert "Готово" in await send(payload="flow:consent:g:*")
    assert "по всем темам" in await send(text="мои подписки")
    assert (await Ledger(runtime.redis).state(client)).grants["situation:*"].channel == "terminal"


# ------------------------------------------------ personal-data gate in a flow
class FormState(FlowState):
    step: Literal["start", "inn"] = "start"
    gate: ConsentGate | None = None


class FormFlow:
    """A tiny form that needs personal data (stands for the applications flow)."""

    name = "pdform"
    start_intents = ("pdform_start",)
    State = FormState
    effects = (RecordConsent,)

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[FormState]:
        return self.step(FormState(), event, ctx)

    def step(self, state: FormState, event: FlowEvent, ctx: FlowContext) -> Step[FormState]:
        gate = consent_gate(self.name, "applications", state.gate, event, ctx, org=ORG)
        if not gate.passed:
            return gate.step_for(state)
        if state.step == "inn" and not gate.just_given:
            return Step(state=None, replies=(reply(f"Записал ИНН {event.text}."),))
        return Step(
            state=FormState(step="inn"),
            replies=(reply("Напишите, пожалуйста, ИНН.", button(self.name, "Отмена", "x")),),
        ).after(*gate.effects)


@pytest_asyncio.fixture(scope="module")
async def form(runtime):
    engine = runtime.engine
    engine.register_flow(FormFlow())
    yield FormFlow.name
    del engine.flows[FormFlow.name], engine.intent_handlers["pdform_start"]  # a test flow: not in the purity check


async def test_personal_data_consent_is_asked_before_the_data_and_a_refusal_is_respected(api, runtime, form):
    chat = Chat(api, client_id=unique("pd"))
    ledger = Ledger(runtime.redis)
    await chat.press("do:pdform_start")
    version = load_documents().for_purpose("applications").version
    assert "согласие на обработку персональных данных" in chat.text() and f"(версия {version})" in chat.text()
    assert [b["payload"] for b in chat.buttons()][:2] == ["flow:pdform:pd_yes", "flow:pdform:pd_no"]
    await chat.press("flow:pdform:pd_no")
    assert "Вы по-прежнему можете" in chat.text() and chat.last["state"]["flow"] is None
    records = await ledger.records(scoped(chat.client_id))
    assert [(r.kind.value, r.action.value) for r in records] == [("personal_data", "decline")]

    await chat.say("как перейти на упрощенку")  # questions are answered without any consent
    assert chat.answered_topic() == "usn"

    await chat.press("do:pdform_start")
    await chat.press("flow:pdform:pd_yes")
    assert "Напишите, пожалуйста, ИНН." in chat.text()
    doc = show(load_documents().for_purpose("applications"), ORG)
    grant = (await ledger.state(scoped(chat.client_id))).grants["personal_data:applications"]
    assert (grant.version, grant.sha256) == (doc.version, doc.sha256)
    profile = await runtime.redis.hgetall(keys.client(scoped(chat.client_id)))
    assert "personal_data:applications" in json.loads(profile[PROFILE_FIELD])["grants"]

    await chat.press("do:pdform_start")  # given once: not asked again
    assert chat.text().startswith("Напишите, пожалуйста, ИНН.")
