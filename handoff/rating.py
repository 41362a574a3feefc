"""Rating the service (R-14) as a pure flow, on the standard's two 4-point scales.

Asked after an operator conversation (`after_operator`), after a service
the bot completed — a helpful answer, a submitted application, a booking, a
payment received (`after_service`; sampled and never twice a day, decided by
the handoff service) — or when the client wants to leave feedback (`start`,
intent `leave_feedback`). «Пропустить» works at any time. Scores may be
pressed or typed («4», «скорее сложно», «удовлетворена»). The second answer
saves the rating (`SaveRating`); then an optional free-text comment
(`SaveComment`, tied to the rating by an anonymous reference) and, when the
rating interrupted another flow, the conversation goes back to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.messages import Reply, ReplyKind
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Handover, Step, button, reply

from . import texts

NAME = "rating"

SATISFACTION = {4: "Удовлетворён", 3: "Скорее удовлетворён", 2: "Скорее не удовлетворён", 1: "Не удовлетворён"}
EASE = {4: "Легко", 3: "Скорее легко", 2: "Скорее сложно", 1: "Сложно"}

ASK_SATISFACTION = (
    "Оператор завершил разговор. Пожалуйста, оцените обслуживание — это займёт секунду.\n"
    "Насколько вы удовлетворены решением вопроса?"
)
ASK_EASE = "Спасибо! И насколько легко было решить ваш вопрос?"
THANKS = (
    "Спасибо за оценку! 🙏 Оценки мы храним обезличенно и используем, чтобы улучшать ответы "
    "помощника и работу операторов: каждую неделю смотрим, где клиентам было сложно. "
    "Если появятся вопросы — пишите, я на связи."
)
ASK_COMMENT = (
    "Если хотите, напишите одним сообщением, что было удобно или что нам улучшить, — или нажмите «Без комментария»."
)
COMMENT_THANKS = "Спасибо, ваш комментарий сохранён — мы его прочитаем. Если появятся вопросы — пишите, я на связи."
NO_COMMENT = "Без комментария"
NO_COMMENT_THANKS = "Хорошо. Если появятся вопросы — пишите, я на связи."
SKIPPED = "Хорошо, без оценки. Если появятся вопросы — пишите, я на связи."
ASK_NPS = (
    "И последний вопрос, по желанию: насколько вероятно, что вы порекомендуете нас "
    "знакомому предпринимателю? 0 — точно нет, 10 — обязательно."
)
USE_BUTTONS = (
    "Выберите, пожалуйста, оценку кнопкой (от 4 до 1) или напишите её словами, например «скорее легко». "
    "Можно нажать «Пропустить»."
)
USE_NPS_BUTTONS = "Выберите, пожалуйста, число от 0 до 10 кнопкой или нажмите «Пропустить»."
SKIP = "Пропустить"
# After a service the bot completed (the flow's name, or «answer»): what is rated.
RATED = {
    "answer": "мой ответ",
    "app": "подачу заявки",
    "booking": "запись на консультацию",
    "pay": "оплату",
}
ASK_AFTER_SERVICE = (
    "Пожалуйста, оцените {what} — это займёт секунду. Оценки обезличены и помогают нам работать лучше.\n"
    "Насколько вы удовлетворены решением вопроса?"
)
COMMENT_CHARS = 1000
RATING_ASKED = "rating_asked_at"  # profile field: when the client was last asked (unix seconds)
RATING_PAUSE_SECONDS = 24 * 3600  # never asked twice within this
CLEAR = 0.8  # a request this sure at the comment step is served, not stored as a comment
# Words of each scale, most specific first (typed answers, any gender).
_SATISFACTION_WORDS = (
    (2, re.compile(r"скорее\s+не\s+(?:удовлетвор|доволен|довольн)")),
    (1, re.compile(r"(?:^|\s)(?:не|совсем\s+не|совершенно\s+не)\s+(?:удовлетвор|доволен|довольн)")),
    (3, re.compile(r"скорее\s+(?:удовлетвор|доволен|довольн)")),
    (4, re.compile(r"(?:удовлетвор|доволен|довольн)")),
)
_EASE_WORDS = (
    (2, re.compile(r"скорее\s+(?:сложн|трудн|тяжел)")),
    (3, re.compile(r"скорее\s+(?:легк|лёгк|просто)")),
    (1, re.compile(r"(?:сложн|трудн|тяжел)")),
    (4, re.compile(r"(?:легк|лёгк|просто)")),
)
_QUESTION = re.compile(
    r"\?\s*$|^(?:а\s+)?(?:как|что|где|когда|сколько|можно|нужно|нужна|нужен|какие|какой|какая|почему|зачем|куда|"
    r"кто|чем|есть\s+ли|подскажите|скажите|расскажите)\b"
)
_REQUEST = re.compile(
    r"^(?:а\s+)?(?:запишите|соедините|позовите|переведите|покажите|отмените|перенесите|перезвоните|"
    r"хочу|помогите|оформите|оплатить|подайте|пришлите)\b"
)
_DIGIT = re.compile(r"^(?:на\s+|оценка\s+|ставлю\s+)?([1-4])(?:\s*(?:[—–-].*|из\s+4|балл\w*))?[\s.!]*$")


class Resume(FlowState):
    """The flow the rating interrupted, to continue after it."""

    flow: str
    state: dict[str, Any]


class RatingState(FlowState):
    step: Literal["satisfaction", "ease", "nps", "comment"] = "satisfaction"
    satisfaction: int | None = None
    ease: int | None = None
    operator: str = ""  # who served the client; "" for feedback on the service
    service: str = ""  # what the bot completed (RATED's keys); "" for an operator or feedback
    ref: str = ""  # ties the comment to its rating, anonymously
    resume: Resume | None = None


@dataclass(frozen=True)
class SaveRating(Effect):
    satisfaction: int | None
    ease: int
    operator: str
    service: str = ""
    ref: str = ""
    nps: int | None = None  # the optional 0–10 «порекомендуете ли» (RATING_ASK_NPS)


@dataclass(frozen=True)
class SaveComment(Effect):
    """The client's own words about the service (masked of personal data when stored)."""

    ref: str
    text: str


def _ask(text: str, prefix: str, scale: dict[int, str]) -> Reply:
    return reply(
        text,
        *(button(NAME, title if prefix == "n" else f"{n} — {title}", f"{prefix}{n}") for n, title in scale.items()),
        button(NAME, SKIP, "skip"),
    )


def _score(event: FlowEvent, prefix: str, scale: Mapping[int, str]) -> int | None:
    """A button, or the point typed as its number or its words («скорее сложно», «удовлетворена»)."""
    if event.payload:
        raw = event.payload.removeprefix(prefix)
        return int(raw) if raw in {"1", "2", "3", "4"} else None
    return typed_score(event.text or "", scale)


def typed_score(text: str, scale: Mapping[int, str]) -> int | None:
    """«4», «на 3», «3 — скорее легко», «скорее сложно», «удовлетворена» → the score on `scale`."""
    said = " ".join(text.lower().replace("ё", "е").split())
    digit = _DIGIT.match(said)
    if digit:
        return int(digit.group(1))
    words = _EASE_WORDS if scale is EASE else _SATISFACTION_WORDS
    return next((score for score, pattern in words if pattern.search(said)), None)


def rating_ref(ctx: FlowContext) -> str:
    """An anonymous reference that ties a comment to its rating (no client or conversation in it)."""
    return hashlib.sha256(f"{ctx.conversation_id}:{ctx.now.timestamp()}".encode()).hexdigest()[:16]


NPS_SCALE = {n: str(n) for n in range(11)}


def _nps(event: FlowEvent) -> int | None:
    raw = (event.payload or "").removeprefix("n") if event.payload else (event.text or "").strip()
    return int(raw) if raw.isdigit() and 0 <= int(raw) <= 10 else None


def resume_of(flow: str | None, state: Mapping[str, Any], *, unless: str = NAME) -> Resume | None:
    """What to come back to after the rating: the conversation's flow, unless it is `unless`."""
    return Resume(flow=flow, state=dict(state)) if flow and flow != unless else None


class RatingFlow:
    name = NAME
    start_intents: tuple[str, ...] = ()  # the handoff module starts it (it knows what to resume)
    State = RatingState
    effects = (SaveRating, SaveComment)

    def __init__(self, ask_nps: bool = False):
        self.ask_nps = ask_nps

    def start(self, ctx: FlowContext, event: FlowEvent, resume: Resume | None = None) -> Step[RatingState]:
        """Feedback the client chose to leave on the service."""
        return Step(state=RatingState(resume=resume), replies=(_ask(texts.FEEDBACK_INTRO, "s", SATISFACTION),))

    def after_operator(
        self, operator: str, resume: Resume | None, asked: Mapping[str, str] | None = None
    ) -> Step[RatingState]:
        return Step(
            state=RatingState(operator=operator, resume=resume),
            replies=(_ask(ASK_SATISFACTION, "s", SATISFACTION),),
            profile=dict(asked or {}),
        )

    def after_service(self, service: str, asked: Mapping[str, str]) -> Step[RatingState]:
        """A service the bot completed (RATED's keys); `asked`: the profile's note of when."""
        what = RATED.get(service, "нашу работу")
        return Step(
            state=RatingState(service=service if service in RATED else "assistant"),
            replies=(_ask(ASK_AFTER_SERVICE.format(what=what), "s", SATISFACTION),),
            profile=dict(asked),
        )

    def accepts_free_text(self, state: RatingState) -> bool:
        """The comment is the client's own words: the step itself tells a request from it."""
        return state.step == "comment"

    def step(self, state: RatingState, event: FlowEvent, ctx: FlowContext) -> Step[RatingState]:
        if event.payload == "skip":
            if state.step == "nps" and state.ease is not None:  # the two ratings are given: keep them
                return self._to_comment(state, state.ease, None, ctx)
            return self._done(state, SKIPPED if state.step != "comment" else NO_COMMENT_THANKS)
        if state.step == "comment":
            return self._comment(state, event)
        if state.step == "nps":
            nps = _nps(event)
            if nps is None or state.ease is None:
                return self._not_a_score(state, event, "n", NPS_SCALE)
            return self._to_comment(state, state.ease, nps, ctx)
        if state.step == "satisfaction":
            score = _score(event, "s", SATISFACTION)
            if score is None:
                return self._not_a_score(state, event, "s", SATISFACTION)
            return Step(
                state=state.model_copy(update={"step": "ease", "satisfaction": score}),
                replies=(_ask(ASK_EASE, "e", EASE),),
            )
        score = _score(event, "e", EASE)
        if score is None:
            return self._not_a_score(state, event, "e", EASE)
        if self.ask_nps:
            return Step(
                state=state.model_copy(update={"step": "nps", "ease": score}), replies=(_ask(ASK_NPS, "n", NPS_SCALE),)
            )
        return self._to_comment(state, score, None, ctx)

    def _to_comment(self, state: RatingState, ease: int, nps: int | None, ctx: FlowContext) -> Step[RatingState]:
        ref = rating_ref(ctx)
        return Step(
            state=state.model_copy(update={"step": "comment", "ref": ref, "ease": ease}),
            replies=(reply(f"{THANKS}\n\n{ASK_COMMENT}", button(NAME, NO_COMMENT, "skip")),),
            effects=(SaveRating(state.satisfaction, ease, state.operator, state.service, ref, nps),),
        )

    def _comment(self, state: RatingState, event: FlowEvent) -> Step[RatingState]:
        text = " ".join((event.text or "").split())
        if not text:
            return Step(state=state, replies=(reply(ASK_COMMENT, button(NAME, NO_COMMENT, "skip")),))
        if event.intent in (None, "affirm", "deny", "thank") and len(text) < 12:
            return self._done(state, NO_COMMENT_THANKS)  # «нет», «спасибо»: nothing to add
        # A comment is a statement («не хватило образца заявления»); a question or a request in
        # words, with an intent the NLU is sure of, is served instead.
        if (
            event.score >= CLEAR
            and event.intent not in (None, "out_of_scope", "affirm", "deny", "thank")
            and (_QUESTION.search(text.lower()) or _REQUEST.search(text.lower()))
        ):
            # «как закрыть ИП?», «запишите меня на консультацию»: a request, served; the rating is
            # saved, so the comment is let go, unless a flow waits to come back after it
            return Step(state=state if state.resume else None, passthrough=True)
        return self._done(state, COMMENT_THANKS, SaveComment(state.ref, text[:COMMENT_CHARS]))

    def reprompt(self, state: RatingState, ctx: FlowContext) -> Step[RatingState]:
        """Back after a detour: the scale of the current question again."""
        if state.step == "satisfaction":
            return Step(state=state, replies=(_ask(USE_BUTTONS, "s", SATISFACTION),))
        if state.step == "comment":
            return Step(state=state, replies=(reply(ASK_COMMENT, button(NAME, NO_COMMENT, "skip")),))
        if state.step == "nps":
            return Step(state=state, replies=(_ask(ASK_NPS, "n", NPS_SCALE),))
        return Step(state=state, replies=(_ask(ASK_EASE, "e", EASE),))

    def _done(self, state: RatingState, text: str, *effects: Effect) -> Step[RatingState]:
        replies: tuple[Reply, ...] = (reply(text),)
        then = None
        if state.resume is not None:
            replies += (reply(texts.RESUMED, kind=ReplyKind.info),)
            then = Handover(flow=state.resume.flow, state=state.resume.state)
        return Step(state=None, replies=replies, effects=effects, then=then)

    def _not_a_score(
        self, state: RatingState, event: FlowEvent, prefix: str, scale: dict[int, str]
    ) -> Step[RatingState]:
        if event.text and event.intent not in (None, "affirm", "deny", "thank"):
            return Step(state=state, passthrough=True)  # a real question: answer it, keep the rating open
        return Step(state=state, replies=(_ask(USE_NPS_BUTTONS if prefix == "n" else USE_BUTTONS, prefix, scale),))
