"""The rating after an operator conversation (R-14), as a pure flow.

Two questions on the standard's scales, «Пропустить» at any time; the last
step saves the rating and restores the flow the client was in before the
handoff (effects `handoff.save_rating`, `handoff.resume`).
"""

from __future__ import annotations

from typing import Any

from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

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


def _ask(text: str, prefix: str, scale: dict[int, str]):
    return reply(text, *(button(NAME, f"{n} — {title}", f"{prefix}{n}") for n, title in scale.items()),
                 button(NAME, SKIP, "skip"))


def _score(event: FlowEvent, prefix: str) -> int | None:
    raw = (event.payload or "").removeprefix(prefix) if event.payload else (event.text or "").strip()
    return int(raw) if raw in {"1", "2", "3", "4"} else None


class RatingFlow:
    name = NAME
    start_intents: tuple[str, ...] = ()  # started by the handoff module after an operator resolves

    def start(self, ctx: FlowContext, event: FlowEvent, resume: dict[str, Any] | None = None,
              operator: str = "") -> Step:
        state = {"step": "satisfaction", "resume": resume or {}, "operator": operator}
        return Step(state=state, replies=[_ask(ASK_SATISFACTION, "s", SATISFACTION)])

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        resume = Effect("handoff.resume", {"resume": state.get("resume") or {}})
        if event.payload == "skip":
            return Step(state=None, replies=[reply(SKIPPED)], effects=[resume])
        if state.get("step") == "satisfaction":
            score = _score(event, "s")
            if score is None:
                return self._not_a_score(state, event, "s", SATISFACTION)
            return Step(state={**state, "step": "ease", "satisfaction": score},
                        replies=[_ask(ASK_EASE, "e", EASE)])
        score = _score(event, "e")
        if score is None:
            return self._not_a_score(state, event, "e", EASE)
        save = Effect("handoff.save_rating", {"satisfaction": state.get("satisfaction"), "ease": score,
                                              "operator": state.get("operator", "")})
        return Step(state=None, replies=[reply(THANKS)], effects=[save, resume])

    def _not_a_score(self, state: dict[str, Any], event: FlowEvent, prefix: str, scale: dict[int, str]) -> Step:
        if event.text and event.intent not in (None, "affirm", "deny", "thank"):
            return Step(state=state, passthrough=True)  # a real question: answer it, keep the rating open
        text = USE_BUTTONS
        return Step(state=state, replies=[_ask(text, prefix, scale)])
