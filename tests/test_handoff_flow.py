"""The handoff through the HTTP API with the real Rasa model and Redis:
«оператор» → queue → operator replies (poll endpoint) → resolve → rating →
the earlier flow resumes; cancel; out of hours → callback booking; timeout."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.consent.ledger import Ledger
from handoff import keys as handoff_keys
from handoff.states import Refused, Status
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.schedule_kit import OFFICE, SATURDAY_NOON, Clock

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]


def scoped(chat: Chat) -> str:
    return f"api:{KEY_ID}:{chat.cid}"


class Inbox:
    """The API client's side of the poll endpoint."""

    def __init__(self, api, chat: Chat):
        self.api, self.chat, self.cursor = api, chat, None

    async def new(self) -> list[dict]:
        params = {"after": self.cursor} if self.cursor else {}
        resp = await self.api.get(f"/api/v1/conversations/{self.chat.cid}/messages", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        self.cursor = body["cursor"]
        return body["replies"]


async def test_operator_conversation_from_request_to_rating(api, runtime, handoff):
    chat = Chat(api)
    inbox = Inbox(api, chat)
    await chat.say("как открыть ип")
    result = await chat.say("соедините меня с оператором")
    assert chat.kinds() == ["handoff"] and result["state"]["with_operator"] is True
    assert "повторять ничего не нужно" in chat.text()
    assert [b["payload"] for b in chat.buttons()] == ["flow:handoff:cancel"]
    cid = scoped(chat)
    ticket = await handoff.queue.get(cid)
    assert ticket.status is Status.waiting and ticket.reason == "asked" and ticket.channel == "api"

    # while waiting the bot says nothing; the message is kept for the operator
    silent = await chat.say("у меня вопрос про налоги для ИП")
    assert silent["replies"] == [] and silent["state"]["with_operator"] is True

    assert await handoff.claim("anna", cid) == cid
    with pytest.raises(Refused):
        await handoff.claim("boris", cid)
    assert [r["kind"] for r in await inbox.new()] == ["handoff"]  # «оператор подключился»

    await handoff.reply("anna", cid, "Здравствуйте! Я Анна, помогу с налогами.")
    with pytest.raises(Refused):
        await handoff.reply("boris", cid, "чужой ответ")
    replies = await inbox.new()
    assert [(r["kind"], r["text"]) for r in replies] == [("operator", "Здравствуйте! Я Анна, помогу с налогами.")]
    assert await inbox.new() == []  # the cursor moves on

    silent = await chat.say("спасибо, всё понятно")
    assert silent["replies"] == []
    history = await runtime.engine.conversations.history(cid)
    assert any(h["from"] == "operator" and h.get("operator") == "anna" for h in history)
    assert any(h["from"] == "client" and h["text"] == "спасибо, всё понятно" for h in history)

    await handoff.resolve("anna", cid)
    rating = await inbox.new()
    assert rating[-1]["kind"] == "flow" and "удовлетворены" in rating[-1]["text"]
    assert [b["payload"] for b in rating[-1]["buttons"]][:4] == [f"flow:rating:s{n}" for n in (4, 3, 2, 1)]

    await chat.press("flow:rating:s4")
    assert chat.last["state"] == {"flow": "rating", "with_operator": False}
    assert "легко" in chat.text()
    await chat.press("flow:rating:e3")
    assert "Спасибо за оценку" in chat.text() and chat.last["state"]["flow"] == "rating"  # a comment may follow
    last = (await runtime.redis.xrevrange(handoff_keys.handoff_ratings(), count=1))[0][1]
    assert (last["satisfaction"], last["ease"], last["operator"], last["context"]) == ("4", "3", "anna", "operator")
    assert "phone" not in last and "text" not in last  # ratings are anonymous

    await chat.say("как закрыть ип")  # the bot is back
    assert chat.answered_topic() == "close_ip"


async def test_client_can_cancel_waiting(api, handoff):
    chat = Chat(api)
    await chat.say("позовите оператора")
    assert chat.last["state"]["with_operator"] is True
    await chat.say("отмена")
    assert chat.kinds() == ["info"] and "отменён" in chat.text()
    assert chat.last["state"]["with_operator"] is False
    assert (await handoff.queue.status(scoped(chat))) is Status.bot
    assert scoped(chat) not in [t.conversation_id for t in await handoff.queue.waiting()]
    with pytest.raises(Refused):
        await handoff.claim("anna", scoped(chat))
    await chat.say("как получить электронную подпись")
    assert chat.answered_topic() == "digital_signature"


async def on_line(handoff, *names: str, role: str = "operator") -> None:
    """Console accounts that are signed in and on line."""
    from handoff.presence import Presence

    for name in names:
        await handoff.users.add(name, "a long enough password", role)
        await handoff.presence.set(name, Presence.online)


async def test_transfers_reach_the_client_and_the_third_is_refused(api, handoff):
    chat = Chat(api)
    inbox = Inbox(api, chat)
    await chat.say("оператор")
    cid = scoped(chat)
    await on_line(handoff, "anna", "boris", "vera")
    await handoff.claim("anna", cid)
    await handoff.transfer("anna", cid, "boris")
    await handoff.transfer("boris", cid)  # back to the queue
    await handoff.claim("vera", cid)
    with pytest.raises(Refused) as exc:
        await handoff.transfer("vera", cid, "anna")
    assert "не более 2" in exc.value.reason
    kinds = [r["kind"] for r in await inbox.new()]
    assert kinds == ["handoff"] * 5  # joined, transferred (the colleague joins too), transferred, joined
    await handoff.resolve("vera", cid)


async def test_a_transfer_goes_only_to_an_operator_who_exists_and_is_on_line(api, handoff):
    chat = Chat(api)
    await chat.say("оператор")
    cid = scoped(chat)
    await on_line(handoff, "anna")
    await handoff.users.add("oleg", "a long enough password")  # exists, but has not signed in
    await handoff.claim("anna", cid)
    with pytest.raises(Refused, match="Такого сотрудника нет"):
        await handoff.transfer("anna", cid, "nobody")
    with pytest.raises(Refused, match="oleg сейчас не на связи"):
        await handoff.transfer("anna", cid, "oleg")
    ticket = await handoff.queue.get(cid)
    assert ticket.operator == "anna" and ticket.transfers == 0  # nothing moved, nothing counted


async def test_a_supervisor_rescues_a_conversation_whose_operator_is_gone(api, handoff):
    """Even a conversation left with an account that no longer exists (older data)."""
    chat = Chat(api)
    inbox = Inbox(api, chat)
    await chat.say("оператор")
    cid = scoped(chat)
    await on_line(handoff, "anna")
    await on_line(handoff, "sveta", role="supervisor")
    await handoff.claim("anna", cid)
    await handoff.queue.transfer(cid, "anna", "ghost")  # the queue itself does not check names
    await inbox.new()
    with pytest.raises(Refused):  # an operator cannot take over someone else's conversation
        await handoff.resolve("anna", cid)
    with pytest.raises(Refused):
        await handoff.transfer("anna", cid, "sveta")
    await handoff.transfer("sveta", cid, "anna", supervisor=True)
    assert (await handoff.queue.get(cid)).operator == "anna"
    await handoff.queue.transfer(cid, "anna", "ghost", supervisor=True)
    await handoff.resolve("sveta", cid, supervisor=True)
    assert (await handoff.queue.status(cid)) is Status.bot
    assert any("оцените" in r["text"].lower() or "легко" in r["text"] for r in await inbox.new())
    await chat.say("как закрыть ип")
    assert chat.answered_topic() == "close_ip"  # the assistant has the conversation again


async def with_anna(api, handoff) -> tuple[Chat, Inbox, str]:
    """A client who asked for a person and is now with operator anna (on line)."""
    chat = Chat(api)
    inbox = Inbox(api, chat)
    await chat.say("оператор")
    cid = scoped(chat)
    await on_line(handoff, "anna")
    await handoff.claim("anna", cid)
    await inbox.new()
    return chat, inbox, cid


async def test_the_client_goes_back_to_the_queue_when_the_operator_leaves(api, handoff, runtime):
    chat, inbox, cid = await with_anna(api, handoff)
    await handoff.check_with_operator()
    assert (await handoff.queue.get(cid)).status is Status.with_operator  # anna's console is alive
    await runtime.redis.zadd(handoff_keys.handoff_heartbeat(), {"anna": 0})  # her console closed long ago
    assert await handoff.check_with_operator() >= 1
    ticket = await handoff.queue.get(cid)
    assert ticket.status is Status.waiting and ticket.operator == "" and ticket.transfers == 0
    assert cid in [t.conversation_id for t in await handoff.queue.waiting()]
    [told] = await inbox.new()
    assert "оператор был вынужден отключиться" in told["text"]
    await chat.say("отмена")  # and the client can still stop waiting
    assert chat.last["state"]["with_operator"] is False


async def test_a_silent_conversation_with_an_operator_is_closed(api, handoff, runtime):
    chat, inbox, cid = await with_anna(api, handoff)
    await handoff.reply("anna", cid, "Здравствуйте!")
    await chat.say("минутку, ищу документы")
    await inbox.new()
    await handoff.check_with_operator()
    assert (await handoff.queue.status(cid)) is Status.with_operator
    handoff.clock.now += timedelta(minutes=handoff.idle_timeout / 60 + 1)
    await handoff.presence.heartbeat("anna", handoff.clock.now.timestamp())
    assert await handoff.check_with_operator() >= 1
    assert (await handoff.queue.status(cid)) is Status.bot
    closed = [r["text"] for r in await inbox.new()]
    assert "давно не было сообщений" in closed[0]
    assert cid not in dict(await handoff.queue.active())


async def test_after_the_operator_the_interrupted_flow_resumes(api, handoff):
    chat = Chat(api)
    await chat.press("do:request_callback")
    assert chat.last["state"]["flow"] == "callback" and "Согласны" in chat.text()
    await chat.say("хочу поговорить с оператором")
    assert chat.kinds() == ["handoff"]
    cid = scoped(chat)
    assert (await handoff.queue.get(cid)).reason == "flow"
    await handoff.claim("anna", cid)
    await handoff.resolve("anna", cid)
    await chat.press("flow:rating:skip")
    assert "без оценки" in chat.text()
    assert chat.last["state"] == {"flow": "callback", "with_operator": False}
    await chat.press("flow:callback:no")
    assert "продолжу помогать" in chat.text() and chat.last["state"]["flow"] is None


async def test_out_of_hours_the_bot_says_when_and_books_a_callback(api, runtime, handoff):
    handoff.set_schedule(OFFICE)
    handoff.clock = Clock(SATURDAY_NOON)
    chat = Chat(api, client_id="callback-client")
    result = await chat.say("мне нужен живой человек, соедините с оператором")
    assert chat.kinds() == ["handoff"] and result["state"]["with_operator"] is False
    assert "не работают" in chat.text() and "пн–пт с 9:00 до 18:00" in chat.text()
    assert "понедельник" in chat.text() or "30 ноября в 9:00" in chat.text()
    await chat.press("do:request_callback")
    assert "152-ФЗ" in chat.text()
    await chat.press("flow:callback:yes")
    await chat.say("8 914 123-45-67")
    slots = [b for b in chat.buttons() if b["payload"].startswith("flow:callback:s")]
    assert len(slots) == 3 and slots[0]["title"] == "30 ноября в 9:00"
    await chat.press(slots[0]["payload"])
    assert "перезвонит" in chat.text() and "-45-67" in chat.text() and "30 ноября в 9:00" in chat.text()
    assert chat.last["state"]["flow"] is None
    booked = [c for c in await handoff.callbacks.upcoming() if c.conversation_id == scoped(chat)]
    assert len(booked) == 1 and booked[0].phone == "+79141234567"
    assert booked[0].slot == int(datetime(2026, 11, 29, 21, 0, tzinfo=UTC).timestamp())
    profile = await runtime.engine.profiles.get(f"api:{KEY_ID}:callback-client")
    assert profile["phone"] == "+79141234567" and not any(f.startswith("consent_pd_") for f in profile)
    [record] = await Ledger(runtime.redis).records(f"api:{KEY_ID}:callback-client")  # the one consent source
    assert (record.scope, record.action.value, record.channel, record.text_id) == (
        "callback",
        "grant",
        "api",
        "pd_callback",
    )

    # the next time the saved number is offered, no second consent question
    await chat.press("do:request_callback")
    assert "Перезвонить на номер +7 *** ***-45-67?" in chat.text()


async def test_nobody_answers_in_time_the_client_is_offered_a_callback(api, handoff, runtime):
    chat = Chat(api)
    inbox = Inbox(api, chat)
    start = handoff.clock.now
    await chat.say("оператор")
    cid = scoped(chat)
    ticket = await handoff.queue.get(cid)
    handoff.clock.now = start + timedelta(seconds=handoff.wait_timeout - 5)
    await handoff.check_waiting()
    assert await inbox.new() == []  # not yet
    handoff.clock.now = start + timedelta(seconds=handoff.wait_timeout + 1)
    await handoff.check_waiting()
    offer = await inbox.new()
    assert [r["kind"] for r in offer] == ["handoff"] and "заняты" in offer[0]["text"]
    assert [b["payload"] for b in offer[0]["buttons"]] == [
        "flow:handoff:callback",
        "flow:handoff:bot",
        "flow:handoff:wait",
    ]
    await handoff.check_waiting()
    assert await inbox.new() == []  # offered once per period
    await chat.press("flow:handoff:wait")
    assert "ждать" in chat.text() and chat.last["state"]["with_operator"] is True
    await chat.press("flow:handoff:callback")
    assert chat.last["state"] == {"flow": "callback", "with_operator": False}
    assert (await handoff.queue.status(cid)) is Status.bot and ticket.enqueued_at


async def test_request_callback_intent_starts_the_callback_flow(api, handoff):
    chat = Chat(api)
    result = await chat.say("перезвоните мне, пожалуйста")
    assert result["understanding"]["intent"] == "request_callback"
    assert chat.last["state"]["flow"] == "callback"


async def test_poll_endpoint_checks_the_key_and_the_cursor(api):
    resp = await api.get("/api/v1/conversations/x1/messages", headers={"X-Api-Key": "wrong"})
    assert resp.status_code == 401 and "X-Api-Key" in resp.json()["message"]
    resp = await api.get("/api/v1/conversations/x1/messages", params={"after": "abc"})
    assert resp.status_code == 422 and "cursor" in resp.json()["message"]
    resp = await api.get("/api/v1/conversations/never-started/messages")
    assert resp.json() == {"replies": [], "cursor": "0-0"}
    spec = (await api.get("/openapi.json")).json()
    assert "get" in spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]


async def test_operator_messages_reach_the_terminal_chat(runtime):
    import io

    from bot.core.messages import Reply, ReplyKind
    from handoff.delivery import terminal_sender

    assert {"api", "terminal"} <= set(runtime.outbound.senders)
    out = io.StringIO()
    await terminal_sender(out)("terminal-1", "terminal:local", [Reply(kind=ReplyKind.operator, text="Добрый день!")])
    assert "Оператор: Добрый день!" in out.getvalue()
