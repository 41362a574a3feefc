"""`make analytics` over the anonymized event log (R-21)."""

from __future__ import annotations

from bot.analytics import build_report, format_report
from tests.chat import Chat


async def test_report_counts_outcomes_and_lists_unanswered_questions(api, runtime):
    chat = Chat(api)
    await chat.say("как перейти на усн")
    await chat.press("nok:usn")
    await chat.say("какая завтра погода в москве")
    events = await runtime.engine.events.read_all()
    report = build_report(events)
    assert report.decisions["out_of_scope"] >= 1 and report.decisions["button:nok"] >= 1
    assert report.topics["usn"] >= 1
    assert "какая завтра погода в москве" in report.unanswered
    text = format_report(report)
    assert "Fallback rate" in text and "какая завтра погода в москве" in text


def test_rates_are_shares_of_text_messages():
    events = [
        {"text": "a", "decision": "act"},
        {"text": "b", "decision": "out_of_scope"},
        {"text": "", "payload": "ok:usn", "decision": "button:ok"},
        {"text": "c", "decision": "options"},
    ]
    report = build_report(events)
    assert report.text_turns == 3
    assert round(report.rate("out_of_scope"), 3) == round(1 / 3, 3)
    assert list(report.unanswered) == ["b", "c"]


def test_the_report_masks_questions_logged_before_the_masker_knew_them():
    events = [{"text": "меня зовут Иванов Пётр, телефон 914 123 45 67, какая погода", "decision": "out_of_scope"}]
    text = format_report(build_report(events))
    assert "меня зовут [имя], телефон [телефон], какая погода" in text
    assert "иванов" not in text and "123 45 67" not in text
