"""Forms whose data is deleted end, wherever they are: a step's `ends` drops
flows set aside in its conversation (they do not come back with their
question), `Engine.end_flows` ends them in a turn the service takes by itself
(another conversation of the client), and a job an effect defers until the
turn is saved says what it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pytest

from bot.core.engine import Turn
from bot.core.messages import Reply
from bot.flows.base import Effect, EffectContext, FlowContext, FlowEvent, FlowState, Step, reply
from bot.store.conversations import ConversationState


class AskState(FlowState):
    step: Literal["ask"] = "ask"


@dataclass(frozen=True)
class Later(Effect):
    what: str


class AskFlow:
    """Asks one question; a press ends it, dropping the flows named in the payload."""

    start_intents = ()
    State = AskState
    effects = (Later,)

    def __init__(self, name: str):
        self.name = name

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[AskState]:
        return Step(state=AskState(), replies=(reply(f"{self.name}?"),))

    def step(self, state: AskState, event: FlowEvent, ctx: FlowContext) -> Step[AskState]:
        if event.payload == "later":
            return Step(state=state, replies=(reply("Сейчас сделаю."),), effects=(Later(self.name),))
        return Step(state=None, replies=(reply("Готово."),), ends=tuple((event.payload or "").split(",")))

    def reprompt(self, state: AskState, ctx: FlowContext) -> Step[AskState]:
        return Step(state=state, replies=(reply(f"Снова: {self.name}?"),))


@pytest.fixture
def engine(runtime):
    engine = runtime.engine
    before = dict(engine.flows), dict(engine.effect_handlers)
    yield engine
    engine.flows.clear()
    engine.flows.update(before[0])
    engine.effect_handlers.clear()
    engine.effect_handlers.update(before[1])


def flows(engine, *names: str, later=None) -> list[AskFlow]:
    made = [AskFlow(name) for name in names]
    engine.handle_effects({Later: later or _nothing})
    for flow in made:
        engine.register_flow(flow)
    return made


async def _nothing(effect: Later, ctx: EffectContext) -> None:
    return None


def new_turn(cid: str) -> Turn:
    return Turn(state=ConversationState(conversation_id=cid, client_id=cid, channel="api"), profile={})


async def test_a_flow_named_in_ends_does_not_come_back_and_one_below_it_does(engine):
    kept, form, aside = flows(engine, "probe_kept", "probe_form", "probe_aside")
    turn = new_turn("ends-1")
    await engine.start_flow(turn, kept.name)
    await engine.run_aside(turn, form, form.start(engine.flow_context(turn), FlowEvent()))
    await engine.run_aside(turn, aside, aside.start(engine.flow_context(turn), FlowEvent()))
    assert [s["flow"] for s in turn.state.suspended] == ["probe_kept", "probe_form"]

    done = aside.step(AskState(), FlowEvent(payload="probe_form"), engine.flow_context(turn))
    await engine.run_step(turn, aside, done)
    assert turn.state.flow == "probe_kept" and turn.state.suspended == []
    assert [r.text for r in turn.replies][-2:] == ["Готово.", "Снова: probe_kept?"]
    assert "Снова: probe_form?" not in [r.text for r in turn.replies]


async def test_end_flows_in_a_turn_the_service_takes(engine):
    kept, form = flows(engine, "probe_below", "probe_held")
    cid = "ends-2"
    turn = new_turn(cid)
    await engine.start_flow(turn, kept.name)
    await engine.run_aside(turn, form, form.start(engine.flow_context(turn), FlowEvent()))
    await engine.conversations.save(turn.state)
    ended: list[int] = []

    async def end(t: Turn) -> None:
        ended.append(engine.end_flows(t, ("probe_held", "probe_absent")))

    state, _replies = await engine.system_turn(cid, end)
    assert ended == [1] and state.flow == "probe_below" and state.suspended == []
    stored = await engine.conversations.load(cid)
    assert (stored.flow, stored.suspended) == ("probe_below", [])

    async def again(t: Turn) -> None:
        ended.append(engine.end_flows(t, ("probe_held",)))

    await engine.system_turn(cid, again)
    assert ended == [1, 0]  # nothing left to end: the other flow goes on


async def test_a_deferred_job_runs_after_the_turn_is_saved_and_says_what_it_did(engine):
    cid = "ends-3"
    seen: list[str | None] = []

    async def later(effect: Later, ctx: EffectContext) -> None:
        async def job() -> Sequence[Reply]:
            stored = await engine.conversations.load(ctx.conversation_id)
            seen.append(stored.flow)  # the turn's own state is saved by now
            return (reply(f"Сделано: {effect.what}"),)

        ctx.defer(job)

    [flow] = flows(engine, "probe_later", later=later)
    await engine.conversations.save(ConversationState(conversation_id=cid, client_id=cid, channel="api"))

    async def act(t: Turn) -> None:
        await engine.start_flow(t, flow.name)
        await engine.run_step(t, flow, flow.step(AskState(), FlowEvent(payload="later"), engine.flow_context(t)))

    _state, replies = await engine.system_turn(cid, act)
    assert seen == ["probe_later"]
    assert [r.text for r in replies] == ["probe_later?", "Сейчас сделаю.", "Сделано: probe_later"]
