"""Every Redis key family is classified by what it holds about a client, and
the eraser handles every family that holds client data: a new family cannot
slip past an erasure unnoticed. Plus the pure parts of bot/privacy."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta

from bot.consent.model import Category, Grant, Kind
from bot.consent.notifications import unsubscribe_for
from bot.flows.base import FlowContext, FlowEvent
from bot.privacy import profile as pd_profile
from bot.privacy.erasure import Eraser
from bot.privacy.flow import CONFIRM_SECONDS, EraseClientData, ErasureFlow
from bot.privacy.pseudonym import is_pseudonym, pseudonym
from bot.store import keys
from tests.test_keys import key_modules


def _key_functions() -> set[str]:
    """Every key function of every package's keys module (and the core's)."""
    return {
        name
        for mod in key_modules()
        for name, fn in inspect.getmembers(mod, inspect.isfunction)
        if fn.__module__ == mod.__name__
    }


def test_every_key_family_says_what_it_holds_about_a_client():
    missing = _key_functions() - set(keys.FAMILIES)
    assert not missing, f"classify with @<space>.family(…) (and erase if they hold client data): {missing}"
    holds = {how for _, how in keys.FAMILIES.values()}
    assert holds <= {keys.ERASE, keys.PSEUDONYMISE, keys.NO_CLIENT_DATA, keys.TRANSIENT}


def test_the_eraser_handles_every_family_that_holds_client_data():
    held = {name for name, (_, how) in keys.FAMILIES.items() if how in (keys.ERASE, keys.PSEUDONYMISE)}
    assert held - Eraser.COVERED == set(), "bot/privacy/erasure.py does not erase these families"
    assert Eraser.COVERED - held == set(), "Eraser.COVERED lists families keys.CLIENT_DATA says hold no client data"


def test_the_pseudonym_is_keyed_stable_and_hides_the_id():
    a, b = pseudonym("tg:123456", "key-1"), pseudonym("tg:123456", "key-2")
    assert a == pseudonym("tg:123456", "key-1") and a != b and is_pseudonym(a)
    assert "123456" not in a and not is_pseudonym("tg:123456")


def test_withdrawal_deletes_exactly_the_values_collected_under_the_consent():
    profile = {
        "segment": "ip",
        "full_name": "Иванова Анна",
        "phone": "+79140000000",
        "inn": "500100732259",
        pd_profile.SOURCES: json.dumps({"full_name": ["applications"], "phone": ["applications", "callback"]}),
    }
    # callback withdrawn, applications still active: the phone was given for both and stays
    assert pd_profile.withdrawal_plan(profile, ["callback"], ["applications"]) == (
        [],
        {"full_name": ["applications"], "phone": ["applications"]},
    )
    # applications withdrawn: its values go; the phone stays for the callback; the ИНН stored before
    # sources were recorded goes too (only the applications consent covers it)
    assert pd_profile.withdrawal_plan(profile, ["applications"], ["callback"]) == (
        ["full_name", "inn"],
        {"phone": ["callback"]},
    )
    assert pd_profile.withdrawal_plan(profile, ["applications", "callback"], []) == (["full_name", "inn", "phone"], {})
    # nothing personal in the segment: it is never deleted by a withdrawal
    assert "segment" not in pd_profile.withdrawal_plan(profile, list(pd_profile.COVERS), [])[0]


def test_a_new_value_belongs_only_to_the_purpose_it_was_given_for():
    profile = {"phone": "+79140000000", pd_profile.SOURCES: json.dumps({"phone": ["applications"]})}
    same = pd_profile.remembered(profile, "callback", {"phone": "+79140000000"})  # the same number, for a callback too
    assert pd_profile.sources(same)["phone"] == ["applications", "callback"]
    other = pd_profile.remembered(profile, "callback", {"phone": "+79141111111"})  # another number: only the callback's
    assert pd_profile.sources(other)["phone"] == ["callback"] and other["phone"] == "+79141111111"


def test_erasure_needs_a_clear_and_timely_yes():
    flow, now = ErasureFlow(), datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
    ctx = FlowContext(conversation_id="c", client_id="k", channel="api", profile={}, now=now)
    started = flow.start(ctx, FlowEvent(intent="revoke_consent"))
    state = started.state
    assert state.step == "confirm" and [b.payload for b in started.replies[0].buttons] == [
        "flow:privacy:yes",
        "flow:privacy:no",
    ]
    assert "Что сохранится и почему" in started.replies[0].text and flow.accepts_free_text(state)
    for event in (
        FlowEvent(payload="yes"),
        FlowEvent(text="да", intent="affirm", score=0.9),
        FlowEvent(text="Да, удалить", intent="affirm", score=0.3),
    ):
        step = flow.step(state, event, ctx)
        assert step.state is None and step.effects == (EraseClientData(),), event
    for event in (
        FlowEvent(payload="no"),
        FlowEvent(text="нет", intent="deny", score=0.9),
        FlowEvent(text="нет, оставить", intent="deny", score=0.2),
    ):
        step = flow.step(state, event, ctx)
        assert step.state is None and not step.effects and "ничего не удаляю" in step.replies[0].text
    # anything else is not an answer: nothing happens, the text is a new request
    other = flow.step(state, FlowEvent(text="как открыть ип", intent="faq", score=0.9), ctx)
    assert other.passthrough and other.state is None and not other.effects
    # a «да» long after the question (e.g. a flow resumed after an operator) does not erase
    late = FlowContext(
        conversation_id="c", client_id="k", channel="api", profile={}, now=now + timedelta(seconds=CONFIRM_SECONDS + 1)
    )
    step = flow.step(state, FlowEvent(payload="yes"), late)
    assert not step.effects and "устарело" in step.replies[0].text


def test_unsubscribing_from_a_reminder_does_not_cancel_the_booking():
    """«Отписаться» under an appointment reminder turns reminders off; withdrawing the
    personal-data consent (which deletes the appointment) stays an explicit choice."""
    booking = Grant(kind=Kind.personal_data, scope="appointments", granted_at=0, channel="api")
    news = Grant(kind=Kind.situation, scope="taxes", granted_at=0, channel="api")
    assert unsubscribe_for(booking, Category.trigger).payload == "flow:consent:pf:trigger:off"
    assert unsubscribe_for(news, Category.content).payload == "flow:consent:r:situation:taxes"
