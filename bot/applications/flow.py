"""Filling an application as a typed flow with pure steps (bot/flows/base.py).

    choose | resume → [consent] → prefill → ask … ask → confirm (→ edit) → submitting → done

Only missing fields are asked; values the profile already holds are shown
once for confirmation (bot/applications/known.py). Personal fields come after
the personal-data consent (bot/consent/gate.py). Every step of a form in
progress saves it (`SaveDraft`), so a client can leave and resume later, in
this conversation or another. «Отправить» submits (`Submit`); the handler
reports `Submitted` (or `AlreadySubmitted`) with the number, and the flow says
it and keeps the answers in the profile for the next form.

Buttons (`flow:app:<value>`): f:<form>, r / n / other (resume, start over,
other form), pok / pno (pre-filled values), c:<option>, y / n, back, skip,
help, send, edit, e:<field>, x (cancel), pd_yes / pd_no (consent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, tzinfo
from typing import ClassVar

from bot.consent.gate import RecordConsent, consent_gate, has_personal_data_consent
from bot.core.messages import Button, Reply, ReplyKind
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Step, button, reply

from . import known, texts
from .forms import FieldType, Form, FormField, Forms
from .reading import BACK_WORDS, SKIP_WORDS, asks_a_question, asks_for_help, is_question, pressed, said, words
from .state import FORM_STEPS, AlreadySubmitted, ApplicationState, Draft, SaveDraft, Submit, Submitted
from .validators import Invalid

NAME = "app"
PURPOSE = "applications"  # personal-data consent purpose (bot/consent/consent_texts.yaml)
START_INTENTS: tuple[str, ...] = ("start_application",)
CONTEXT_FORM = "context_form"  # entity the start handler passes: the form the last FAQ points to

AppStep = Step[ApplicationState]
Lead = tuple[Reply, ...]


def _b(title: str, value: str) -> Button:
    return button(NAME, title, value)


def _cancel() -> Button:
    return _b(texts.CANCEL_BUTTON, "x")


class ApplicationFlow:
    name = NAME
    what = texts.FLOW_WHAT  # «Продолжим заявку или …?»
    start_intents: tuple[str, ...] = START_INTENTS
    State: ClassVar[type[FlowState]] = ApplicationState
    effects: ClassVar[tuple[type[Effect], ...]] = (SaveDraft, Submit, RecordConsent)

    def __init__(self, forms: Forms, *, org: str, tz: tzinfo = UTC):
        self.forms = forms
        self.org = org
        self.tz = tz

    # ------------------------------------------------------------ protocol
    def start(self, ctx: FlowContext, event: FlowEvent, drafts: Mapping[str, Draft] | None = None) -> AppStep:
        """`drafts`: the client's unfinished forms by id (the module's start handler loads them)."""
        base = ApplicationState(step="choose", run=int(ctx.now.timestamp() * 1000), drafts=dict(drafts or {}))
        form = self.forms.match_text(event.text) or self.forms.get(event.entities.get(CONTEXT_FORM))
        if form is None and len(base.drafts) == 1 and "продолж" in words(event.text):
            form = self.forms.get(next(iter(base.drafts)))
            if form:
                return self._saved(self._resume(form, base.drafts[form.id], base, ctx))
        if form is not None:
            return self._saved(self._pick(form, base, ctx))
        return self._choose(base)

    def step(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        if isinstance(event.outcome, Submitted):
            return self._submitted(state, event.outcome, ctx)
        return self._saved(self._answer(state, event, ctx))

    def cancel(self, state: ApplicationState, ctx: FlowContext) -> AppStep:
        has_answers = bool(state.form and (state.answers or state.skipped))
        return Step(None, (reply(texts.CANCELLED_WITH_DRAFT if has_answers else texts.CANCELLED),))

    def accepts_free_text(self, state: ApplicationState) -> bool:
        """Filling in fields: any text is an answer (a phone, an ИНН, a name)."""
        return state.step in FORM_STEPS

    def fits(self, state: ApplicationState, text: str, ctx: FlowContext) -> bool | None:
        """Is `text` a value the current question can take? (the engine's interruption policy).
        None where any words may be an answer (choosing a form, the summary)."""
        form = self.forms.get(state.form)
        field = form.field(state.current) if form else None
        if state.step != "ask" or state.gate is not None or field is None:
            return None
        low = words(text)
        if low in BACK_WORDS or low in SKIP_WORDS or asks_for_help(low):
            return True
        if field.type is FieldType.text and text.rstrip().endswith("?"):
            return False  # a question, not a description
        try:
            field.answer(text, self._today(ctx))
        except Invalid:
            return False
        return True

    def reprompt(self, state: ApplicationState, ctx: FlowContext) -> AppStep:
        """Back after a detour: the question of the current step again."""
        form = self.forms.get(state.form)
        if form is None or state.step == "choose":
            return self._choose(state)
        if state.step == "resume":
            return self._pick(form, state, ctx)
        if state.step in ("confirm", "submitting"):
            return self._summary(form, state)
        if state.step == "edit":
            return self._edit_menu(form, state)
        field = form.field(state.current)
        if state.step == "ask" and state.gate is None and field is not None:
            return self._ask(form, field, state)
        # pre-filled values or the consent question: offered again as they stand now
        return self._advance(state.model_copy(update={"gate": None}), ctx)

    # ---------------------------------------------------------------- steps
    def _answer(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        if state.gate is not None:
            gate = consent_gate(NAME, PURPOSE, state.gate, event, ctx, org=self.org)
            if not gate.passed:
                return gate.step_for(state)
            consented = state.model_copy(update={"gate": None, "consented": True})
            return self._advance(consented, ctx).after(*gate.effects)
        if event.payload == "x":
            return self.cancel(state, ctx)
        on: dict[str, Callable[[ApplicationState, FlowEvent, FlowContext], AppStep]] = {
            "choose": self._on_choose,
            "resume": self._on_resume,
            "prefill": self._on_prefill,
            "ask": self._on_ask,
            "confirm": self._on_confirm,
            "submitting": self._on_confirm,
            "edit": self._on_edit,
        }
        return on[state.step](state, event, ctx)

    @staticmethod
    def _saved(step: AppStep) -> AppStep:
        """Save progress after every step of a form in progress."""
        st = step.state
        if step.passthrough or st is None or not st.form or st.step not in FORM_STEPS:
            return step
        return step.plus(effects=(SaveDraft(form=st.form, draft=st.draft()),))

    # -------------------------------------------------------- choose a form
    def _choose(self, state: ApplicationState) -> AppStep:
        buttons = [_b(f.button + (texts.DRAFT_MARK if f.id in state.drafts else ""), f"f:{f.id}") for f in self.forms]
        choosing = ApplicationState(step="choose", run=state.run, drafts=state.drafts)
        return Step(choosing, (reply(texts.CHOOSE_FORM, *buttons, _cancel()),))

    def _on_choose(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        if event.payload:
            kind, _, value = event.payload.partition(":")
            form = self.forms.get(value) if kind == "f" else None
            return self._pick(form, state, ctx) if form else self._choose(state)
        form = self.forms.match_text(event.text)
        if form:
            return self._pick(form, state, ctx)
        return Step(state, passthrough=True)  # a question while choosing: answered as usual

    def _pick(self, form: Form, state: ApplicationState, ctx: FlowContext) -> AppStep:
        draft = state.drafts.get(form.id)
        if draft and draft.progress():
            text = texts.RESUME_OFFER.format(title=form.title, done=draft.progress(), count=len(form.fields))
            return Step(
                state.model_copy(update={"step": "resume", "form": form.id}),
                (
                    reply(
                        text,
                        _b(texts.RESUME_BUTTON, "r"),
                        _b(texts.RESTART_BUTTON, "n"),
                        _b(texts.OTHER_FORM_BUTTON, "other"),
                        _cancel(),
                    ),
                ),
            )
        return self._begin(form, state, ctx)

    def _on_resume(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        form = self.forms.get(state.form)
        if form is None:
            return self._choose(state)
        p, low = event.payload, words(event.text)
        if p == "r" or said(event, "affirm") or (not p and "продолж" in low):
            return self._resume(form, state.drafts.get(form.id) or Draft(), state, ctx)
        if p == "n" or (not p and "заново" in low):
            return self._begin(form, state, ctx)
        if p == "other" or said(event, "deny"):
            return self._choose(state)
        if p:
            return self._pick(form, state, ctx)
        return Step(state, passthrough=True)

    def _begin(self, form: Form, state: ApplicationState, ctx: FlowContext) -> AppStep:
        fresh = ApplicationState(step="ask", run=state.run, form=form.id)
        intro = texts.INTRO.format(title=form.title, description=form.description, count=len(form.fields))
        return self._advance(fresh, ctx, lead=(reply(intro),))

    def _resume(self, form: Form, draft: Draft, state: ApplicationState, ctx: FlowContext) -> AppStep:
        names = {f.name for f in form.fields}  # the form may have changed since the draft was saved
        resumed = ApplicationState(
            step="ask",
            run=state.run,
            form=form.id,
            answers={k: v for k, v in draft.answers.items() if k in names},
            skipped=tuple(k for k in draft.skipped if k in names),
            asked=tuple(k for k in draft.asked if k in names),
            prefill_done=draft.prefill_done,
        )
        return self._advance(resumed, ctx, lead=(reply(texts.RESUMED.format(title=form.title)),))

    # ------------------------------------------------------- the next thing
    def _advance(self, state: ApplicationState, ctx: FlowContext, lead: Lead = ()) -> AppStep:
        """Offer the profile's values once, then ask the first field not answered (after
        the consent, if it is personal), or show the summary when all are."""
        form = self.forms.get(state.form)
        if form is None:
            return self._choose(state)
        state = state.model_copy(update={"step": "ask", "editing": False, "prefill": {}})
        consented = state.consented or has_personal_data_consent(ctx.profile, PURPOSE)
        if not state.prefill_done:
            offered = known.prefill(form, state.done(), ctx.profile, self._today(ctx))
            if offered and not consented and any(f.personal for f in form.fields if f.name in offered):
                return self._ask_consent(state, ctx, lead)
            if offered:
                items = "\n".join(f"• {f.title}: {f.shown(offered[f.name])}" for f in form.fields if f.name in offered)
                return Step(
                    state.model_copy(update={"step": "prefill", "prefill": offered}),
                    (*lead, reply(texts.PREFILL.format(items=items), *self._prefill_buttons())),
                )
            state = state.model_copy(update={"prefill_done": True})
        field = next((f for f in form.fields if f.name not in state.done()), None)
        if field is None:
            return self._summary(form, state, lead)
        if field.personal and not consented:
            return self._ask_consent(state, ctx, lead)
        return self._ask(form, field, state, lead)

    def _ask_consent(self, state: ApplicationState, ctx: FlowContext, lead: Lead) -> AppStep:
        asked = consent_gate(NAME, PURPOSE, None, FlowEvent(), ctx, org=self.org).step_for(state)
        return replace(asked, replies=(*lead, *asked.replies))

    def _ask(
        self, form: Form, field: FormField, state: ApplicationState, lead: Lead = (), text: str | None = None
    ) -> AppStep:
        buttons: list[Button] = []
        if field.type is FieldType.choice:
            buttons += [_b(o.title, f"c:{o.id}") for o in field.options]
        if field.type is FieldType.yes_no:
            buttons += [_b(texts.YES_BUTTON, "y"), _b(texts.NO_BUTTON, "n")]
        if not field.required:
            buttons.append(_b(texts.SKIP_BUTTON, "skip"))
        if state.asked or state.editing:
            buttons.append(_b(texts.BACK_BUTTON, "back"))
        buttons += [_b(texts.HELP_BUTTON, "help"), _cancel()]
        prompt = text or field.prompt + ("" if field.required else texts.OPTIONAL_MARK)
        return Step(state.model_copy(update={"step": "ask", "current": field.name}), (*lead, reply(prompt, *buttons)))

    # ------------------------------------------------------------ answering
    def _on_ask(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        form = self.forms.get(state.form)
        if form is None:
            return self._choose(state)
        field = form.field(state.current)
        if field is None:
            return self._advance(state, ctx)
        p, low = event.payload, words(event.text)
        if p == "back" or low in BACK_WORDS:
            return self._back(form, field, state)
        if p == "skip" or (not p and low in SKIP_WORDS and field.type is not FieldType.yes_no):
            if field.required:
                return self._ask(form, field, state, text=texts.CANNOT_SKIP.format(help=field.help))
            return self._store(form, field, state, None, ctx)
        if p == "help" or (not p and asks_for_help(low)):
            return self._ask(form, field, state, text=f"{field.help}\n\n{field.prompt}")
        if not p and "продолж" in low and event.intent == "start_application":
            return self._ask(form, field, state, lead=(reply(texts.RESUMED.format(title=form.title)),))
        if p:
            value = pressed(field, p)
            return self._ask(form, field, state) if value is None else self._store(form, field, state, value, ctx)
        try:
            value = field.answer(event.text or "", self._today(ctx))
        except Invalid as bad:
            if field.type is FieldType.yes_no and (said(event, "affirm") or said(event, "deny")):
                return self._store(form, field, state, "yes" if event.intent == "affirm" else "no", ctx)
            if is_question(event, field):
                return Step(state, passthrough=True)
            return self._ask(form, field, state, text=bad.message)
        return self._store(form, field, state, value, ctx)

    def _store(
        self, form: Form, field: FormField, state: ApplicationState, value: str | None, ctx: FlowContext
    ) -> AppStep:
        """Keep an answer (None: skipped) and go on: to the next field, or back to the summary."""
        answers = {k: v for k, v in state.answers.items() if k != field.name}
        skipped = tuple(s for s in state.skipped if s != field.name)
        if value is None:
            skipped += (field.name,)
        else:
            answers[field.name] = value
        asked = (*(a for a in state.asked if a != field.name), field.name)
        new = state.model_copy(update={"answers": answers, "skipped": skipped, "asked": asked})
        return self._summary(form, new) if state.editing else self._advance(new, ctx)

    def _back(self, form: Form, field: FormField, state: ApplicationState) -> AppStep:
        """The previous question again, its answer forgotten (from the summary: the summary)."""
        if state.editing:
            return self._summary(form, state)
        previous = form.field(state.asked[-1]) if state.asked else None
        if previous is None:
            return self._ask(form, field, state, text=f"{texts.FIRST_QUESTION} {field.prompt}")
        return self._ask(
            form,
            previous,
            state.model_copy(
                update={
                    "answers": {k: v for k, v in state.answers.items() if k != previous.name},
                    "skipped": tuple(s for s in state.skipped if s != previous.name),
                    "asked": state.asked[:-1],
                }
            ),
        )

    def _on_prefill(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        if event.payload == "pok" or said(event, "affirm", "thank"):
            answers = {**state.answers, **state.prefill}
            return self._advance(state.model_copy(update={"answers": answers, "prefill_done": True}), ctx)
        if event.payload == "pno" or said(event, "deny"):
            return self._advance(state.model_copy(update={"prefill_done": True}), ctx)
        if asks_a_question(event):
            return Step(state, passthrough=True)
        return Step(state, (reply(texts.YES_NO_FORMAT, *self._prefill_buttons()),))

    @staticmethod
    def _prefill_buttons() -> tuple[Button, ...]:
        return _b(texts.PREFILL_YES, "pok"), _b(texts.PREFILL_NO, "pno"), _cancel()

    # ------------------------------------------------------ confirm, submit
    def _summary(self, form: Form, state: ApplicationState, lead: Lead = ()) -> AppStep:
        items = "\n".join(f"• {f.title}: {f.shown(state.answers.get(f.name))}" for f in form.fields)
        text = texts.SUMMARY.format(title=form.title, items=items)
        confirming = state.model_copy(update={"step": "confirm", "editing": False, "current": ""})
        return Step(confirming, (*lead, reply(text, *self._confirm_buttons())))

    @staticmethod
    def _confirm_buttons() -> tuple[Button, ...]:
        return _b(texts.SEND_BUTTON, "send"), _b(texts.EDIT_BUTTON, "edit"), _cancel()

    def _on_confirm(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        form = self.forms.get(state.form)
        if form is None:
            return self._choose(state)
        p, low = event.payload, words(event.text)
        if p == "send" or said(event, "affirm") or (not p and "отправ" in low):
            submit = Submit(form=form.id, answers=dict(state.answers), key=f"{ctx.conversation_id}:{state.run}")
            return Step(state.model_copy(update={"step": "submitting"}), effects=(submit,))
        if p == "edit" or said(event, "deny") or (not p and "измен" in low):
            return self._edit_menu(form, state)
        if asks_a_question(event):
            return Step(state, passthrough=True)
        return Step(state, (reply(texts.CONFIRM_UNCLEAR, *self._confirm_buttons()),))

    def _submitted(self, state: ApplicationState, done: Submitted, ctx: FlowContext) -> AppStep:
        """Say the number, and keep what the client told us so the next form asks only what is
        missing (personal values with the consent they were given under)."""
        text = texts.SUBMITTED.format(
            number=done.number, title=done.title, date=done.date, status=done.status, next=done.next
        )
        if isinstance(done, AlreadySubmitted):
            text = f"{texts.ALREADY_SUBMITTED}\n\n{text}"
        form = self.forms.get(state.form)
        profile = known.kept(form, state.answers, ctx.profile, PURPOSE) if form else {}
        return Step(None, (reply(text, kind=ReplyKind.info),), profile=profile)

    def _edit_menu(self, form: Form, state: ApplicationState) -> AppStep:
        buttons = [_b(f.title, f"e:{f.name}") for f in form.fields]
        return Step(
            state.model_copy(update={"step": "edit"}),
            (reply(texts.EDIT_CHOOSE, *buttons, _b(texts.BACK_BUTTON, "back")),),
        )

    def _on_edit(self, state: ApplicationState, event: FlowEvent, ctx: FlowContext) -> AppStep:
        form = self.forms.get(state.form)
        if form is None:
            return self._choose(state)
        p, low = event.payload or "", words(event.text)
        kind, _, name = p.partition(":")
        field = (
            form.field(name) if kind == "e" else next((f for f in form.fields if low and f.title.lower() in low), None)
        )
        if field is not None:
            return self._ask(form, field, state.model_copy(update={"editing": True}))
        if p == "back" or low in BACK_WORDS:
            return self._summary(form, state)
        return self._edit_menu(form, state)

    # --------------------------------------------------------------- helpers
    def _today(self, ctx: FlowContext) -> date:
        return ctx.now.astimezone(self.tz).date()
