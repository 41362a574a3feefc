"""Hypothesis fuzzing of every flow through the HTTP API (R-20, R-22).

A conversation is a random walk: phrases that start and feed the flows
(booking, payment, callback, applications, consent, feedback …), random text,
the buttons the bot just offered, buttons it offered earlier in the walk,
offered buttons with their value bent (odd numbers, garbage), and made-up
payloads of every known shape. Whatever the walk:

- never a 5xx, and every message gets an answer unless an operator has the
  conversation, with a way to a human in it;
- «оператор» typed or the operator button pressed reaches the operator
  (queued, or told when operators work and offered a callback);
- do:cancel (or «отмена» typed) ends the active flow: at most two presses —
  the first one leaves the operator queue when waiting there.

Deterministic (derandomized, no example database), bounded, with the real
Rasa model and Redis, in a Redis database of its own. Found so far: a
«²» / 20-digit slot in a booking or callback button (503), a stale button at
the callback consent question and an empty `flow:pay:` (no answer at all).
"""

from __future__ import annotations

import itertools
import os

import httpx
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.applications import flow as applications
from bot.booking import flow as booking
from bot.consent import flows as consent
from bot.core.engine import CANCEL_PAYLOAD, MAX_SUSPENDED, OPERATOR_PAYLOAD
from bot.core.texts import INTENT_TITLES
from bot.payments import flow as payments
from bot.runtime import Runtime
from handoff import callback_flow as callback
from handoff import rating
from tests.live_server import redis_database
from tests.schedule_kit import ALWAYS_OPEN

KEY = "flow-fuzz-key"
STEPS = 6  # per walk, after the start (fixed: Hypothesis would favour the shortest walks)
# FLOW_FUZZ_EXAMPLES=500: explore further with fresh random walks instead of the repeatable 50.
EXPLORE = int(os.environ.get("FLOW_FUZZ_EXAMPLES", "0"))
URL = "/api/v1/conversations/{}/messages"
_ids = itertools.count(1)

PHRASES = [
    "здравствуйте",
    "как открыть ип",
    "как перейти на усн",
    "я самозанятый",
    "у меня вопрос про налоги для ИП",
    "запишите меня на консультацию",
    "отмените мою запись",
    "хочу оплатить госпошлину",
    "сколько стоит госпошлина за регистрацию ооо",
    "прошла ли моя оплата?",
    "перезвоните мне, пожалуйста",
    "хочу подать заявку на грант",
    "хочу подать заявку на льготный микрозайм",
    "продолжить заявку",
    "статус заявки",
    "что с моей заявкой",
    "хочу оставить отзыв",
    "покажите историю моих обращений",
    "подпишите меня на уведомления",
    "мои согласия",
    "отпишите меня",
    "настройки уведомлений",
    "да",
    "нет",
    "да, спасибо",
    "нет, не помогло",
    "спасибо, всё понятно",
    "пропустить",
    "назад",
    "завтра",
    "Петров Иван Николаевич",
    "petrov@mail.ru",
    "500100732259",
    "304500116000157",
    "15.06.2003",
    "1,5 млн",
    "+7 914 123-45-67",
    "8 914 123 45 67",
    "18810177000000000411",
    "какая завтра погода в москве",
    "отмена",
    "²",
    "99999999999999999999",
    "١٢٣",
    "-1",
    "0",
    "1",
    "2",
]
ODD = ["²", "99999999999999999999", "١٢٣", "-1", "0", "", "x:y", "../"]
FLOWS = (booking.NAME, payments.NAME, applications.NAME, consent.NAME, callback.NAME, rating.NAME, "handoff")
SHAPES = ["do:", "faq:", "seg:", "ok:", "nok:", "cn"] + [f"flow:{name}:" for name in FLOWS]
# Into a flow first (by button or in words), then anywhere.
STARTS = [
    {"payload": f"do:{intent}"}
    for intent in (
        "book_appointment",
        "cancel_appointment",
        "pay_fee",
        "request_callback",
        "start_application",
        "application_status",
        "leave_feedback",
        "give_consent",
        "revoke_consent",
        "notification_settings",
        "show_history",
        "set_segment",
    )
] + [
    {"text": t}
    for t in (
        "запишите меня на консультацию",
        "хочу оплатить госпошлину",
        "перезвоните мне, пожалуйста",
        "хочу подать заявку на грант",
        "хочу оставить отзыв",
        "подпишите меня на уведомления",
        "как открыть ип",
    )
]
OPERATOR_PHRASES = ["оператор", "соедините меня с оператором", "позовите живого оператора"]
CANCEL_PHRASES = ["отмена", "Отмена!", "отменить"]

blank_free = st.text(min_size=1, max_size=40).filter(lambda t: t.strip())
free_payload = st.text(min_size=1, max_size=64)


def bent(payload: str, odd: str) -> str:
    """An offered payload with its last value replaced."""
    head = payload.rsplit(":", 1)[0] + ":" if ":" in payload else payload
    return (head + odd)[:64] or payload


def press(payloads: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, dict]]:
    return payloads.map(lambda p: ("press", {"payload": p}))


ANYWHERE = {
    "phrase": st.sampled_from(PHRASES).map(lambda t: ("text", {"text": t})),
    "random text": blank_free.map(lambda t: ("text", {"text": t})),
    "operator": st.one_of(
        st.sampled_from(OPERATOR_PHRASES).map(lambda t: ("operator", {"text": t})),
        st.just(("operator", {"payload": OPERATOR_PAYLOAD})),
    ),
    "cancel": st.one_of(
        st.sampled_from(CANCEL_PHRASES).map(lambda t: ("cancel", {"text": t})),
        st.just(("cancel", {"payload": CANCEL_PAYLOAD})),
    ),
    "intent": press(st.sampled_from(sorted(set(INTENT_TITLES) - {"ask_operator"})).map(lambda i: f"do:{i}")),
    "shape": press(st.tuples(st.sampled_from(SHAPES), st.sampled_from(ODD)).map(lambda p: (p[0] + p[1])[:64])),
    "random payload": press(free_payload),
}


# Fixed kinds and weights: what is drawn never depends on the replies, only what it means
# does (an index into the buttons on screen). Hypothesis replays walks and requires the
# same draws for the same choices; the replies may differ a little between runs (a slot
# taken by an earlier walk, the clock), which must not make the test "flaky".
KINDS = [*ANYWHERE, *["screen"] * 6, *["bent"] * 4, "earlier"]
INDEX = st.integers(0, 2**16)


def message(walk: Walk, seen: list[str]) -> st.SearchStrategy[tuple[str, dict]]:
    """What the client sends next. Mostly a button on screen (not the operator's: that
    ends a walk's exploring) — that is how people, and flows, move on — and often one of
    them bent, the way a forged or stale button would look. With nothing on screen (or
    nothing earlier) a screen pick is a phrase instead."""
    moving = [p for p in walk.offered if p != OPERATOR_PAYLOAD]
    earlier = [p for p in seen if p != OPERATOR_PAYLOAD]

    def one_of(payloads: list[str], i: int) -> tuple[str, dict]:
        return (
            ("press", {"payload": payloads[i % len(payloads)]})
            if payloads
            else ("text", {"text": PHRASES[i % len(PHRASES)]})
        )

    choices = {
        **ANYWHERE,
        "screen": INDEX.map(lambda i: one_of(moving, i)),
        "bent": st.tuples(INDEX, st.sampled_from(ODD)).map(
            lambda d: ("press", {"payload": bent(moving[d[0] % len(moving)], d[1])}) if moving else one_of([], d[0])
        ),
        "earlier": INDEX.map(lambda i: one_of(earlier, i)),
    }
    return st.sampled_from(KINDS).flatmap(choices.__getitem__)


@pytest_asyncio.fixture(scope="module")
async def bot(tmp_path_factory, settings, redis_server, rasa_url, retriever):
    schedule = tmp_path_factory.mktemp("fuzz-flows") / "schedule.yaml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    own = settings.model_copy(
        update={
            "assistant_api_key": KEY,
            "handoff_schedule_file": schedule,
            "rate_limit_per_minute": 0,
            "api_rate_limit_per_minute": 0,
        }
    )
    runtime = await Runtime.create(own, redis_database(redis_server.url, 3), rasa_url, retriever)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)),
        base_url="http://bot",
        headers={"X-Api-Key": KEY},
        timeout=120,
    ) as client:
        yield client
    await runtime.close()


class Walk:
    def __init__(self, client: httpx.AsyncClient):
        self.client, self.cid = client, f"walk{next(_ids)}"
        self.log: list[str] = []
        self.state = {"flow": None, "with_operator": False}
        self.offered: list[str] = []

    async def send(self, body: dict) -> dict:
        before = dict(self.state)
        resp = await self.client.post(URL.format(self.cid), json=body)
        self.log.append(f"{body} → {resp.status_code}")
        assert resp.status_code == 200, self.report(resp.text)
        result = resp.json()
        self.state = result["state"]
        self.log[-1] += f" {self.state} {[r['kind'] for r in result['replies']]}"
        replies = result["replies"]
        if not self.state["with_operator"]:
            assert replies, self.report("no answer")
            kinds = {r["kind"] for r in replies}
            buttons = {b["payload"] for r in replies for b in r["buttons"]}
            assert OPERATOR_PAYLOAD in buttons or kinds & {"handoff", "operator"}, self.report("no way to a human")
        self.offered = [b["payload"] for r in replies for b in r["buttons"]] or (
            self.offered if before["with_operator"] and self.state["with_operator"] else []
        )
        return result

    def report(self, what: str) -> str:
        return f"{what}\nconversation {self.cid}:\n  " + "\n  ".join(self.log)

    async def reaches_operator(self, body: dict) -> None:
        result = await self.send(body)
        kinds = {r["kind"] for r in result["replies"]}
        assert self.state["with_operator"] or "handoff" in kinds, self.report("the operator was not reached")

    async def cancels(self, body: dict) -> None:
        had_flow, waited = self.state["flow"], self.state["with_operator"]
        await self.send(body)
        if waited:  # the first cancel leaves the operator's queue; the next one ends the flow
            assert not self.state["with_operator"], self.report("still waiting for the operator after cancel")
            await self.send({"payload": CANCEL_PAYLOAD})
        # a flow set aside (a request that interrupted it) comes back, asking again, when the one
        # cancelled ends: each further cancel ends one more
        for _ in range(MAX_SUSPENDED):
            if self.state["flow"] is None:
                break
            await self.send({"payload": CANCEL_PAYLOAD})
        if had_flow or waited:
            assert self.state["flow"] is None and not self.state["with_operator"], self.report("cancel left a flow")


@settings(
    max_examples=EXPLORE or 50,
    derandomize=not EXPLORE,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_no_walk_breaks_a_conversation(bot, data):
    walk = Walk(bot)
    seen: list[str] = []
    await walk.send(data.draw(st.sampled_from(STARTS), label="start"))
    for _ in range(STEPS):
        kind, body = data.draw(message(walk, seen), label="message")
        if kind == "operator":
            await walk.reaches_operator(body)
        elif kind == "cancel":
            await walk.cancels(body)
        else:
            await walk.send(body)
        seen = list(dict.fromkeys(seen + walk.offered))
    # Whatever state the walk ended in, there is a way out of it.
    if data.draw(st.booleans(), label="finally the operator"):
        await walk.reaches_operator(data.draw(st.sampled_from([{"text": "оператор"}, {"payload": OPERATOR_PAYLOAD}])))
    else:
        await walk.cancels(data.draw(st.sampled_from([{"payload": CANCEL_PAYLOAD}, {"text": "отмена"}])))
