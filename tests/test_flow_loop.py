"""The flow loop: typed states, typed effects, outcomes fed back by the engine
(the only writer of flow state); wiring errors at start-up; a flow set aside
by another comes back with its question; a state from an older version is
dropped politely. Plus, for every registered flow: its steps are pure and
every effect it declares has a handler."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import sys
from dataclasses import dataclass
from typing import Literal

import pytest

from bot.core import texts
from bot.core.engine import FlowWiringError, Turn
from bot.flows.base import Effect, EffectContext, FlowContext, FlowEvent, FlowState, Outcome, Step, button, reply
from bot.store.conversations import ConversationState


class CountState(FlowState):
    step: Literal["ask", "wait"] = "ask"
    found: int = 0


@dataclass(frozen=True)
class Lookup(Effect):
    what: str


@dataclass(frozen=True)
class Found(Outcome):
    count: int


class CountFlow:
    """Asks what to count, looks it up (an effect), says the number (from the outcome)."""

    start_intents = ()
    State = CountState
    effects = (Lookup,)

    def __init__(self, name: str):
        self.name = name

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[CountState]:
        return Step(state=CountState(), replies=(reply("Что посчитать?", button(self.name, "Заявки", "apps")),))

    def step(self, state: CountState, event: FlowEvent, ctx: FlowContext) -> Step[CountState]:
        if isinstance(event.outcome, Found):
            return Step(
                state=None,
                replies=(reply(f"Нашлось: {event.outcome.count}"),),
                profile={"counted": str(event.outcome.count)},
            )
        if event.payload:
            return Step(state=state.model_copy(update={"step": "wait"}), effects=(Lookup(event.payload),))
        return Step(state=state, replies=(reply("Нажмите кнопку."),))

    def reprompt(self, state: CountState, ctx: FlowContext) -> Step[CountState]:
        return Step(state=state, replies=(reply("Так что посчитать?"),))


def new_turn(cid: str) -> Turn:
    return Turn(state=ConversationState(conversation_id=cid, client_id=cid, channel="api"), profile={})


@pytest.fixture
def engine(runtime):
    engine = runtime.engine
    before = dict(engine.flows), dict(engine.effect_handlers)
    yield engine
    engine.flows.clear()
    engine.flows.update(before[0])
    engine.effect_handlers.clear()
    engine.effect_handlers.update(before[1])


async def test_an_outcome_goes_back_to_the_flow_and_only_the_engine_writes_state(engine):
    seen: list[tuple[str, str]] = []

    async def lookup(effect: Lookup, ctx: EffectContext) -> Found:
        seen.append((effect.what, ctx.client_id))
        return Found(count=3)

    flow = CountFlow("probe_count")
    engine.register_flow(flow, {Lookup: lookup})
    turn = new_turn("loop-1")
    await engine.run_step(turn, flow, flow.start(engine.flow_context(turn), FlowEvent()))
    assert turn.state.flow == "probe_count" and turn.state.flow_state == {"step": "ask", "found": 0}
    await engine.run_step(turn, flow, flow.step(CountState(), FlowEvent(payload="apps"), engine.flow_context(turn)))
    assert seen == [("apps", "loop-1")]
    assert [r.text for r in turn.replies][-1] == "Нашлось: 3" and turn.state.flow is None
    assert turn.profile_updates == {"counted": "3"}


async def test_a_declared_effect_without_a_handler_stops_the_start(engine):
    with pytest.raises(FlowWiringError, match="declares effects nobody handles: Lookup"):
        engine.register_flow(CountFlow("probe_unwired"))
    assert "probe_unwired" not in engine.flows


async def test_an_outcome_for_a_flow_that_ended_is_a_wiring_error(engine):
    async def lookup(effect: Lookup, ctx: EffectContext) -> Found:
        return Found(count=1)

    flow = CountFlow("probe_ended")
    engine.register_flow(flow, {Lookup: lookup})
    with pytest.raises(FlowWiringError, match="no step to go to"):
        await engine.run_step(new_turn("loop-2"), flow, Step(state=None, effects=(Lookup("x"),)))


async def test_a_flow_set_aside_comes_back_with_its_question(engine):
    async def lookup(effect: Lookup, ctx: EffectContext) -> Found:
        return Found(count=7)

    first, aside = CountFlow("probe_first"), CountFlow("probe_aside")
    engine.register_flow(first, {Lookup: lookup})
    engine.register_flow(aside)
    turn = new_turn("loop-3")
    await engine.run_step(turn, first, first.start(engine.flow_context(turn), FlowEvent()))
    # a button under an old message belongs to another flow: it runs aside, and ends
    await engine.run_aside(turn, aside, aside.step(CountState(), FlowEvent(payload="apps"), engine.flow_context(turn)))
    assert "Нашлось: 7" in [r.text for r in turn.replies]
    assert turn.state.flow == "probe_first" and turn.replies[-1].text == "Так что посчитать?"
    assert turn.state.suspended == []


async def test_a_state_from_an_older_version_is_dropped_politely(api, engine):
    from tests.chat import Chat

    chat = Chat(api)
    await chat.say("перезвоните мне")
    assert chat.last["state"]["flow"] == "callback"
    [key] = [k async for k in engine.conversations.redis.scan_iter(f"mb:conv:{{api:*:{chat.cid}}}")]
    raw = ConversationState.model_validate_json(await engine.conversations.redis.get(key))
    raw.flow_state = {"stage": "from an older version"}
    await engine.conversations.save(raw)
    await chat.say("8 914 123 45 67")
    assert chat.last["state"]["flow"] is None and texts.FLOW_STALE in chat.text()


# ------------------------------------------------------ every registered flow
def typed_flows(runtime) -> list:
    return [f for f in runtime.engine.flows.values() if hasattr(f, "State")]


def test_every_typed_flow_declares_frozen_states_and_effects_that_have_handlers(runtime):
    flows = typed_flows(runtime)
    assert {"rating", "callback"} <= {f.name for f in flows}
    for flow in flows:
        assert issubclass(flow.State, FlowState) and flow.State.model_config.get("frozen"), flow.name
        for kind in flow.effects:
            assert dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen, kind
            assert kind in runtime.engine.effect_handlers, f"{flow.name}: nobody handles {kind.__name__}"


IMPURE = ("redis", "httpx", "bot.store", "asyncio", "aiogram")


def test_every_typed_flows_steps_are_pure(runtime):
    """Steps are plain functions of (state, event, context): no coroutine, and the
    flow's module imports nothing that does I/O."""
    for flow in typed_flows(runtime):
        for method in ("start", "step", "cancel", "reprompt"):
            fn = getattr(flow, method, None)
            assert fn is None or not inspect.iscoroutinefunction(fn), f"{flow.name}.{method} is async"
        module = sys.modules[type(flow).__module__]
        tree = ast.parse(inspect.getsource(module))
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith(IMPURE)], (flow.name, imported)
