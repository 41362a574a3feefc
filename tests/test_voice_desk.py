"""The voice line on the real operator desk (handoff): the hours a caller
hears and a callback booked into the operators' queue, after consent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from handoff.schedule import Schedule
from handoff.voice_desk import HandoffDesk
from tests.voice_kit import Recorder, needs_espeak
from voice import texts
from voice.call import Call
from voice.recognizer import Choice
from voice.service import VoiceService

OFFICE = Schedule.model_validate(
    {
        "timezone": "Asia/Kamchatka",
        "timezone_title": "по камчатскому времени",
        "week": {**{d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu")}, "fri": ["09:00-17:00"]},
    }
)
SATURDAY_NOON = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 12:00 in Kamchatka


@pytest.fixture
def handoff(runtime):
    svc = runtime.handoff
    saved = svc.schedule, svc.clock
    svc.set_schedule(OFFICE)
    svc.clock = lambda: SATURDAY_NOON
    yield svc
    svc.set_schedule(saved[0])
    svc.clock = saved[1]


def test_the_voice_line_is_wired_to_the_handoff_desk(runtime):
    assert isinstance(runtime.voice.desk, HandoffDesk) and runtime.voice.desk.handoff is runtime.handoff


def test_hours_come_from_the_schedule_and_are_said_for_the_ear(runtime, handoff):
    voice = runtime.voice
    assert "(по камчатскому времени)" in voice.desk.hours_text()  # the written form, as chat shows it
    assert not voice.desk.is_open()
    spoken = voice.context().hours_text
    assert spoken == (
        "Операторы работают: с понедельника по четверг с 9 до 18, в пятницу с 9 до 17 по камчатскому времени."
    )
    assert voice.context().operator_open is False


@needs_espeak
async def test_a_caller_books_a_callback_into_the_operators_queue(runtime, handoff):
    service = VoiceService(runtime, choice=Choice(""), desk=HandoffDesk(handoff), pace=False, silence_seconds=600)
    out = Recorder()
    call = Call(service, "desk-callback-1", out, number="79140000004")
    running = asyncio.create_task(call.run())
    await out.next_say()
    call.key("0")  # operators are away on Saturday
    closed = await out.next_say()
    assert "с понедельника по четверг с 9 до 18" in closed["text"] and "(" not in closed["text"]
    call.key("1")  # «записаться на обратный звонок»
    assert (await out.next_say())["text"].startswith(texts.CONSENT_ASK)
    call.key("1")
    booked = await out.next_say()
    call.hang_up()
    await asyncio.wait_for(running, 10)
    assert "перезвонит" in booked["text"] and "с окончанием 00 04" in booked["text"]
    assert "30 ноября" in booked["text"] or "понедельник" in booked["text"]
    for unreadable in ("*", "(", "напишите", "здесь"):
        assert unreadable not in booked["text"]
    [cb] = [c for c in await handoff.callbacks.upcoming() if c.conversation_id == "voice:desk-callback-1"]
    assert (cb.phone, cb.channel, cb.client_id) == ("+79140000004", "voice", "phone:79140000004")
