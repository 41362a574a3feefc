"""Cancelling through the HTTP API: `do:cancel` and «отмена» end the active
flow in the core; a flow may say its own words (`cancel`), otherwise the
engine does; with nothing active the client hears so."""

from __future__ import annotations

import pytest

from bot.core import texts
from bot.core.dialogue import is_cancel
from handoff.callback_flow import CANCELLED as CALLBACK_CANCELLED
from tests.chat import Chat


@pytest.mark.parametrize(
    "text, expected",
    [
        ("отмена", True),
        ("Отменить!", True),
        ("  отмена. ", True),
        ("отменить всё", True),
        ("как отменить регистрацию ип", False),
        ("отмена записи", False),
        ("", False),
        (None, False),
    ],
)
def test_cancel_is_matched_on_the_whole_message(text, expected):
    assert is_cancel(text) is expected


async def test_nothing_to_cancel_says_so_and_offers_topics(api):
    chat = Chat(api)
    result = await chat.press("do:cancel")
    assert chat.text() == texts.NOTHING_TO_CANCEL and result["state"]["flow"] is None
    payloads = [b["payload"] for b in chat.buttons()]
    assert payloads[0].startswith("faq:") and payloads[-1] == "do:ask_operator"


async def test_a_flow_without_its_own_cancel_is_ended_by_the_engine(api):
    chat = Chat(api)
    await chat.press("flow:consent:give")  # the consent menu: a flow with no `cancel`
    assert chat.last["state"]["flow"] == "consent"
    result = await chat.say("отменить")
    assert chat.text() == texts.CANCELLED and result["state"]["flow"] is None
    assert result["understanding"] is None  # a keyword, not a guess of the NLU model
    await chat.press("flow:consent:give")
    result = await chat.press("do:cancel")
    assert chat.text() == texts.CANCELLED and result["state"]["flow"] is None


async def test_a_flow_with_its_own_cancel_says_its_words(api, runtime):
    chat = Chat(api)
    await chat.press("do:request_callback")
    assert chat.last["state"]["flow"] == "callback"
    result = await chat.say("Отмена!")
    assert chat.text() == CALLBACK_CANCELLED and result["state"]["flow"] is None
    # after that, «отмена» is an ordinary message again: no flow to end, the NLU decides
    result = await chat.say("отмена")
    assert result["understanding"] is not None and chat.text() != texts.CANCELLED
