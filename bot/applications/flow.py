"""Filling an application as a flow with pure steps (bot/flows/base.py).

    choose | resume → [consent] → prefill → ask … ask → confirm (→ edit) → submit

Only missing fields are asked; values the profile already holds are shown
once for confirmation. Personal fields come after the personal-data consent
(bot.consent.flows.ensure_personal_data_consent). Every step of a form in
progress returns a `app.draft` effect, so a client can leave and resume later,
in this conversation or another. Buttons (`flow:app:<value>`): f:<form>,
r / n / other (resume, start over, other form), pok / pno (pre-filled values),
c:<option>, y / n, back, skip, help, send, edit, e:<field>, x (cancel).
"""

from __future__ import annotations

from datetime import timezone, tzinfo
from typing import Any

from bot.consent.flows import GATE_KEY, ensure_personal_data_consent, has_personal_data_consent
from bot.core.messages import Button, Reply
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

from . import texts
from .forms import FieldType, Form, FormField, Forms
from .validators import Invalid

NAME = "app"
PURPOSE = "applications"  # personal-data consent purpose (bot/consent/consent_texts.yaml)
START_INTENTS = ("start_application",)
CONTEXT_FORM = "context_form"  # entity the start handler passes: the form the last FAQ points to

# Effects (the module registers their handlers).
DRAFT = "app.draft"
SUBMIT = "app.submit"

BACK_WORDS = {"назад", "вернуться", "вернуться назад", "предыдущий вопрос", "back"}
SKIP_WORDS = {"пропустить", "пропусти", "пропуск", "дальше", "не знаю", "нет почты", "skip", "-"}
HELP_WORDS = {"помощь", "подсказка", "?", "зачем", "где взять", "где найти", "а где взять", "что писать"}
MIN_SCORE = 0.5
QUESTION_SCORE = 0.8
FORM_STAGES = ("ask", "prefill", "confirm", "edit")


def _b(title: str, value: str) -> Button:
    return button(NAME, title, value)


def _words(text: str | None) -> str:
    return " ".join((text or "").lower().replace("ё", "е").strip(" .!").split())


class ApplicationFlow:
    name = NAME

    def accepts_free_text(self, state: dict[str, Any]) -> bool:
        """Filling in fields: any text is an answer (a phone, an ИНН, a name)."""
        return state.get("stage") in FORM_STAGES
    start_intents = START_INTENTS

    def __init__(self, forms: Forms, *, tz: tzinfo = timezone.utc, org: str | None = None):
        self.forms = forms
        self.tz = tz
        self.org = org

    # ------------------------------------------------------------ protocol
    def start(self, ctx: FlowContext, event: FlowEvent, drafts: dict[str, dict] | None = None) -> Step:
        drafts = drafts or {}
        base = {"run": int(ctx.now.timestamp() * 1000), "drafts": drafts}
        form = self.forms.match_text(event.text) or self.forms.get(event.entities.get(CONTEXT_FORM))
        if form is None and len(drafts) == 1 and "продолж" in _words(event.text):
            form = self.forms.get(next(iter(drafts)))
            if form:
                return self._resume(form, drafts[form.id], base, ctx)
        if form is not None:
            return self._pick(form, base, ctx)
        return self._choose(base)

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        result = self._step(state, event, ctx)
        return self.with_draft(result)

    def cancel(self, state: dict[str, Any], ctx: FlowContext) -> Step:
        has_answers = state.get("form") and (state.get("answers") or state.get("skipped"))
        return Step(None, [reply(texts.CANCELLED_WITH_DRAFT if has_answers else texts.CANCELLED)])

    # ---------------------------------------------------------------- steps
    def _step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        if state.get(GATE_KEY):
            gate = ensure_personal_data_consent(NAME, PURPOSE, state, event, ctx, org=self.org)
            if not gate.passed:
                return gate.step
            return self._advance({**gate.state, "pd": True}, ctx, effects=gate.effects)
        if event.payload == "x":
            return self.cancel(state, ctx)
        stage = state.get("stage")
        handler = {"choose": self._on_choose, "resume": self._on_resume, "prefill": self._on_prefill,
                   "ask": self._on_ask, "confirm": self._on_confirm, "edit": self._on_edit}.get(stage)
        if handler is None:
            return self._choose(state)
        return handler(state, event, ctx)

    def with_draft(self, step: Step) -> Step:
        """Save progress after every step of a form in progress."""
        st = step.state
        if step.passthrough or not st or not st.get("form") or st.get("stage") not in FORM_STAGES:
            return step
        draft = {k: st.get(k) for k in ("answers", "skipped", "asked", "prefill_done")}
        return Step(st, step.replies, [*step.effects, Effect(DRAFT, {"form": st["form"], "draft": draft})])

    # -------------------------------------------------------- choose a form
    def _choose(self, state: dict, lead: str = texts.CHOOSE_FORM) -> Step:
        drafts = state.get("drafts") or {}
        buttons = [_b(f.button + (texts.DRAFT_MARK if f.id in drafts else ""), f"f:{f.id}") for f in self.forms]
        base = {k: state[k] for k in ("run", "drafts") if k in state}
        return Step({**base, "stage": "choose"}, [reply(lead, *buttons, _b(texts.CANCEL_BUTTON, "x"))])

    def _on_choose(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        if event.payload:
            kind, _, value = event.payload.partition(":")
            form = self.forms.get(value) if kind == "f" else None
            return self._pick(form, state, ctx) if form else self._choose(state)
        form = self.forms.match_text(event.text)
        if form:
            return self._pick(form, state, ctx)
        return Step(state, passthrough=True)  # a question while choosing: answered as usual

    def _pick(self, form: Form, state: dict, ctx: FlowContext) -> Step:
        draft = (state.get("drafts") or {}).get(form.id)
        if draft and (draft.get("answers") or draft.get("skipped")):
            done = len(draft.get("answers") or {}) + len(draft.get("skipped") or [])
            text = texts.RESUME_OFFER.format(title=form.title, done=done, count=len(form.fields))
            return Step({**state, "stage": "resume", "form": form.id}, [reply(
                text, _b(texts.RESUME_BUTTON, "r"), _b(texts.RESTART_BUTTON, "n"),
                _b(texts.OTHER_FORM_BUTTON, "other"), _b(texts.CANCEL_BUTTON, "x"))])
        return self._begin(form, state, ctx)

    def _on_resume(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        form = self.forms.get(state.get("form"))
        if form is None:
            return self._choose(state)
        p = event.payload
        if p == "r" or (not p and (event.intent == "affirm" and event.score >= MIN_SCORE or "продолж" in _words(event.text))):
            return self._resume(form, (state.get("drafts") or {}).get(form.id) or {}, state, ctx)
        if p == "n" or (not p and "заново" in _words(event.text)):
            return self._begin(form, state, ctx)
        if p == "other" or (not p and event.intent == "deny" and event.score >= MIN_SCORE):
            return self._choose(state)
        if p:
            return self._pick(form, state, ctx)
        return Step(state, passthrough=True)

    def _begin(self, form: Form, state: dict, ctx: FlowContext) -> Step:
        fresh = {"run": state.get("run", 0), "stage": "ask", "form": form.id, "answers": {}, "skipped": [],
                 "asked": [], "prefill_done": False}
        intro = texts.INTRO.format(title=form.title, description=form.description, count=len(form.fields))
        return self._advance(fresh, ctx, lead=[reply(intro)])

    def _resume(self, form: Form, draft: dict, state: dict, ctx: FlowContext) -> Step:
        known = {f.name for f in form.fields}
        answers = {k: v for k, v in (draft.get("answers") or {}).items() if k in known}
        resumed = {"run": state.get("run", 0), "stage": "ask", "form": form.id, "answers": answers,
                   "skipped": [k for k in draft.get("skipped") or [] if k in known],
                   "asked": [k for k in draft.get("asked") or [] if k in known],
                   "prefill_done": bool(draft.get("prefill_done"))}
        return self._advance(resumed, ctx, lead=[reply(texts.RESUMED.format(title=form.title))])

    # ------------------------------------------------------- the next thing
    def _advance(self, state: dict, ctx: FlowContext, lead: list[Reply] | None = None,
                 effects: list[Effect] | None = None) -> Step:
        lead, effects = list(lead or []), list(effects or [])
        form = self.forms.get(state["form"])
        state = {**state, "stage": "ask", "editing": False}
        state.pop("prefill", None)
        consented = bool(state.get("pd")) or has_personal_data_consent(ctx.profile, PURPOSE)
        if not state.get("prefill_done"):
            prefill = self._prefill(form, state, ctx)
            if prefill and not consented and any(form.field(n).personal for n in prefill):
                return self._ask_consent(state, ctx, lead, effects)
            if prefill:
                items = "\n".join(f"• {form.field(n).title}: {form.field(n).shown(v)}" for n, v in prefill.items())
                return Step({**state, "stage": "prefill", "prefill": prefill}, [*lead, reply(
                    texts.PREFILL.format(items=items), _b(texts.PREFILL_YES, "pok"), _b(texts.PREFILL_NO, "pno"),
                    _b(texts.CANCEL_BUTTON, "x"))], effects)
            state["prefill_done"] = True
        field = self._next_field(form, state)
        if field is None:
            return self._summary(form, state, lead, effects)
        if field.personal and not consented:
            return self._ask_consent(state, ctx, lead, effects)
        return self._ask(form, field, state, lead, effects)

    def _ask_consent(self, state: dict, ctx: FlowContext, lead: list[Reply], effects: list[Effect]) -> Step:
        gate = ensure_personal_data_consent(NAME, PURPOSE, state, FlowEvent(), ctx, org=self.org)
        return Step(gate.step.state, [*lead, *gate.step.replies], [*effects, *gate.step.effects])

    def _prefill(self, form: Form, state: dict, ctx: FlowContext) -> dict[str, str]:
        today = self._today(ctx)
        done = set(state.get("answers") or {}) | set(state.get("skipped") or [])
        found = {f.name: f.from_profile(ctx.profile, today) for f in form.fields if f.profile and f.name not in done}
        return {k: v for k, v in found.items() if v}

    @staticmethod
    def _next_field(form: Form, state: dict) -> FormField | None:
        done = set(state.get("answers") or {}) | set(state.get("skipped") or [])
        return next((f for f in form.fields if f.name not in done), None)

    def _ask(self, form: Form, field: FormField, state: dict, lead: list[Reply] | None = None,
             effects: list[Effect] | None = None, text: str | None = None) -> Step:
        buttons = []
        if field.type is FieldType.choice:
            buttons += [_b(o.title, f"c:{o.id}") for o in field.options]
        if field.type is FieldType.yes_no:
            buttons += [_b(texts.YES_BUTTON, "y"), _b(texts.NO_BUTTON, "n")]
        if not field.required:
            buttons.append(_b(texts.SKIP_BUTTON, "skip"))
        if state.get("asked") or state.get("editing"):
            buttons.append(_b(texts.BACK_BUTTON, "back"))
        buttons += [_b(texts.HELP_BUTTON, "help"), _b(texts.CANCEL_BUTTON, "x")]
        prompt = text or field.prompt + ("" if field.required else texts.OPTIONAL_MARK)
        return Step({**state, "stage": "ask", "current": field.name}, [*(lead or []), reply(prompt, *buttons)],
                    list(effects or []))

    # ------------------------------------------------------------ answering
    def _on_ask(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        form = self.forms.get(state.get("form"))
        field = form.field(state.get("current") or "") if form else None
        if field is None:
            return self._advance(state, ctx) if form else self._choose(state)
        p, low = event.payload, _words(event.text)
        if p == "back" or low in BACK_WORDS:
            return self._back(form, state, ctx)
        if p == "skip" or (not p and low in SKIP_WORDS and field.type is not FieldType.yes_no):
            if field.required:
                return self._ask(form, field, state, text=texts.CANNOT_SKIP.format(help=field.help))
            return self._store(form, field, state, None, ctx)
        if p == "help" or low in HELP_WORDS:
            return self._ask(form, field, state, text=f"{field.help}\n\n{field.prompt}")
        if not p and "продолж" in low and event.intent == "start_application":
            return self._ask(form, field, state, lead=[reply(texts.RESUMED.format(title=form.title))])
        if p:
            value = self._pressed(field, p)
            if value is None:
                return self._ask(form, field, state)
            return self._store(form, field, state, value, ctx)
        try:
            value = field.answer(event.text or "", self._today(ctx))
        except Invalid as bad:
            if field.type is FieldType.yes_no and event.intent in ("affirm", "deny") and event.score >= MIN_SCORE:
                return self._store(form, field, state, "yes" if event.intent == "affirm" else "no", ctx)
            if self._is_question(event, field):
                return Step(state, passthrough=True)
            return self._ask(form, field, state, text=bad.message)
        return self._store(form, field, state, value, ctx)

    @staticmethod
    def _pressed(field: FormField, payload: str) -> str | None:
        kind, _, value = payload.partition(":")
        if field.type is FieldType.choice and kind == "c" and field.option(value):
            return value
        if field.type is FieldType.yes_no and payload in ("y", "n"):
            return "yes" if payload == "y" else "no"
        return None

    @staticmethod
    def _is_question(event: FlowEvent, field: FormField) -> bool:
        """A confident FAQ question instead of an answer: let the engine answer it."""
        if event.intent not in ("faq", "application_status", "pay_fee", "book_appointment"):
            return False
        typed = field.type not in (FieldType.text, FieldType.full_name)
        return event.score >= QUESTION_SCORE and (typed or (event.text or "").rstrip().endswith("?"))

    def _store(self, form: Form, field: FormField, state: dict, value: str | None, ctx: FlowContext) -> Step:
        answers = dict(state.get("answers") or {})
        skipped = [s for s in state.get("skipped") or [] if s != field.name]
        if value is None:
            answers.pop(field.name, None)
            skipped.append(field.name)
        else:
            answers[field.name] = value
        asked = [a for a in state.get("asked") or [] if a != field.name] + [field.name]
        new = {**state, "answers": answers, "skipped": skipped, "asked": asked}
        if state.get("editing"):
            return self._summary(form, new)
        return self._advance(new, ctx)

    def _back(self, form: Form, state: dict, ctx: FlowContext) -> Step:
        if state.get("editing"):
            return self._summary(form, state)
        asked = list(state.get("asked") or [])
        current = form.field(state.get("current") or "")
        if not asked:
            return self._ask(form, current, state, text=f"{texts.FIRST_QUESTION} {current.prompt}")
        previous = form.field(asked.pop())
        answers = {k: v for k, v in (state.get("answers") or {}).items() if k != previous.name}
        skipped = [s for s in state.get("skipped") or [] if s != previous.name]
        return self._ask(form, previous, {**state, "answers": answers, "skipped": skipped, "asked": asked})

    def _on_prefill(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        p = event.payload
        yes = p == "pok" or (not p and event.intent in ("affirm", "thank") and event.score >= MIN_SCORE)
        no = p == "pno" or (not p and event.intent == "deny" and event.score >= MIN_SCORE)
        if yes:
            answers = {**(state.get("answers") or {}), **(state.get("prefill") or {})}
            return self._advance({**state, "answers": answers, "prefill_done": True}, ctx)
        if no:
            return self._advance({**state, "prefill_done": True}, ctx)
        if not p and event.intent == "faq" and event.score >= QUESTION_SCORE:
            return Step(state, passthrough=True)
        return Step(state, [reply(texts.YES_NO_FORMAT, _b(texts.PREFILL_YES, "pok"), _b(texts.PREFILL_NO, "pno"),
                                  _b(texts.CANCEL_BUTTON, "x"))])

    # ------------------------------------------------------ confirm, submit
    def _summary(self, form: Form, state: dict, lead: list[Reply] | None = None,
                 effects: list[Effect] | None = None) -> Step:
        answers = state.get("answers") or {}
        items = "\n".join(f"• {f.title}: {f.shown(answers.get(f.name))}" for f in form.fields)
        text = texts.SUMMARY.format(title=form.title, items=items)
        new = {**state, "stage": "confirm", "editing": False}
        new.pop("current", None)
        return Step(new, [*(lead or []), reply(text, _b(texts.SEND_BUTTON, "send"), _b(texts.EDIT_BUTTON, "edit"),
                                               _b(texts.CANCEL_BUTTON, "x"))], list(effects or []))

    def _on_confirm(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        form = self.forms.get(state.get("form"))
        p, low = event.payload, _words(event.text)
        if p == "send" or (not p and ("отправ" in low or (event.intent == "affirm" and event.score >= MIN_SCORE))):
            return Step(None, [], [Effect(SUBMIT, {
                "form": form.id, "answers": dict(state.get("answers") or {}),
                "key": f"{ctx.conversation_id}:{state.get('run', 0)}"})])
        if p == "edit" or (not p and ("измен" in low or (event.intent == "deny" and event.score >= MIN_SCORE))):
            return self._edit_menu(form, state)
        if not p and event.intent == "faq" and event.score >= QUESTION_SCORE:
            return Step(state, passthrough=True)
        return Step(state, [reply(texts.CONFIRM_UNCLEAR, _b(texts.SEND_BUTTON, "send"),
                                  _b(texts.EDIT_BUTTON, "edit"), _b(texts.CANCEL_BUTTON, "x"))])

    def _edit_menu(self, form: Form, state: dict) -> Step:
        buttons = [_b(f.title, f"e:{f.name}") for f in form.fields]
        return Step({**state, "stage": "edit"}, [reply(texts.EDIT_CHOOSE, *buttons, _b(texts.BACK_BUTTON, "back"))])

    def _on_edit(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        form = self.forms.get(state.get("form"))
        p, low = event.payload or "", _words(event.text)
        kind, _, name = p.partition(":")
        field = form.field(name) if kind == "e" else next(
            (f for f in form.fields if low and f.title.lower() in low), None)
        if field is not None:
            return self._ask(form, field, {**state, "editing": True})
        if p == "back" or low in BACK_WORDS:
            return self._summary(form, state)
        return self._edit_menu(form, state)

    # --------------------------------------------------------------- helpers
    def _today(self, ctx: FlowContext):
        return ctx.now.astimezone(self.tz).date()
