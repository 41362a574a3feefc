"""Rating the service (R-14) as a pure flow, on the standard's two 4-point scales.

Asked after an operator conversation (`after_operator`), or when the client
wants to leave feedback (`start`, intent `leave_feedback`). «Пропустить»
works at any time. The last answer saves the rating (`SaveRating`) and, when
the rating interrupted another flow, hands the conversation back to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

from bot.core.messages import Reply, ReplyKind
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Handover, Step, button, reply

from . import texts

NAME = "rating"

SATISFACTION = {4: "Удовлетворён", 3: "Скорее удовлетворён", 2: "Скорее не удовлетворён", 1: "Не удовлетворён"}
EASE = {4: "Легко", 3: "Скорее легко", 2: "Скорее сложно", 1: "Сложно"}

ASK_SATISFACTION = ("Оператор завершил разговор. Пожалуйста, оцените обслуживание — это займёт секунду.\n"
                    "Насколько вы удовлетворены решением вопроса?")
ASK_EASE = "Спасибо! И насколько легко было решить ваш вопрос?"
THANKS = ("Спасибо за оценку! 🙏 Оценки мы храним обезличенно и используем, чтобы улучшать ответы "
          "помощника и работу операторов: каждую неделю смотрим, где клиентам было сложно. "
          "Если появятся вопросы — пишите, я на связи.")
SKIPPED = "Хорошо, без оценки. Если появятся вопросы — пишите, я на связи."
USE_BUTTONS = "Выберите, пожалуйста, оценку кнопкой (от 4 до 1) или нажмите «Пропустить»."
SKIP = "Пропустить"


class Resume(FlowState):
    """The flow the rating interrupted, to continue after it."""

    flow: str
    state: dict[str, Any]


class RatingState(FlowState):
    step: Literal["satisfaction", "ease"] = "satisfaction"
    satisfaction: int | None = None
    operator: str = ""  # who served the client; "" for feedback on the service
    resume: Resume | None = None


@dataclass(frozen=True)
class SaveRating(Effect):
    satisfaction: int | None
    ease: int
    operator: str


def _ask(text: str, prefix: str, scale: dict[int, str]) -> Reply:
    return reply(text, *(button(NAME, f"{n} — {title}", f"{prefix}{n}") for n, title in scale.items()),
                 button(NAME, SKIP, "skip"))


def _score(event: FlowEvent, prefix: str) -> int | None:
    raw = (event.payload or "").removeprefix(prefix) if event.payload else (event.text or "").strip()
    return int(raw) if raw in {"1", "2", "3", "4"} else None


def resume_of(flow: str | None, state: Mapping[str, Any], *, unless: str = NAME) -> Resume | None:
    """What to come back to after the rating: the conversation's flow, unless it is `unless`."""
    return Resume(flow=flow, state=dict(state)) if flow and flow != unless else None


class RatingFlow:
    name = NAME
    start_intents: tuple[str, ...] = ()  # the handoff module starts it (it knows what to resume)
    State = RatingState
    effects = (SaveRating,)

    def start(self, ctx: FlowContext, event: FlowEvent, resume: Resume | None = None) -> Step[RatingState]:
        """Feedback the client chose to leave on the service."""
        return Step(state=RatingState(resume=resume), replies=(_ask(texts.FEEDBACK_INTRO, "s", SATISFACTION),))

    def after_operator(self, operator: str, resume: Resume | None) -> Step[RatingState]:
        return Step(state=RatingState(operator=operator, resume=resume),
                    replies=(_ask(ASK_SATISFACTION, "s", SATISFACTION),))

    def step(self, state: RatingState, event: FlowEvent, ctx: FlowContext) -> Step[RatingState]:
        if event.payload == "skip":
            return self._done(state, SKIPPED)
        if state.step == "satisfaction":
            score = _score(event, "s")
            if score is None:
                return self._not_a_score(state, event, "s", SATISFACTION)
            return Step(state=state.model_copy(update={"step": "ease", "satisfaction": score}),
                        replies=(_ask(ASK_EASE, "e", EASE),))
        score = _score(event, "e")
        if score is None:
            return self._not_a_score(state, event, "e", EASE)
        return self._done(state, THANKS, SaveRating(state.satisfaction, score, state.operator))

    def reprompt(self, state: RatingState, ctx: FlowContext) -> Step[RatingState]:
        """Back after a detour: the scale of the current question again."""
        if state.step == "satisfaction":
            return Step(state=state, replies=(_ask(USE_BUTTONS, "s", SATISFACTION),))
        return Step(state=state, replies=(_ask(ASK_EASE, "e", EASE),))

    def _done(self, state: RatingState, text: str, *effects: Effect) -> Step[RatingState]:
        replies: tuple[Reply, ...] = (reply(text),)
        then = None
        if state.resume is not None:
            replies += (reply(texts.RESUMED, kind=ReplyKind.info),)
            then = Handover(flow=state.resume.flow, state=state.resume.state)
        return Step(state=None, replies=replies, effects=effects, then=then)

    def _not_a_score(self, state: RatingState, event: FlowEvent, prefix: str,
                     scale: dict[int, str]) -> Step[RatingState]:
        if event.text and event.intent not in (None, "affirm", "deny", "thank"):
            return Step(state=state, passthrough=True)  # a real question: answer it, keep the rating open
        return Step(state=state, replies=(_ask(USE_BUTTONS, prefix, scale),))
