"""Consent conversations as one pure flow, and the personal-data gate other
flows reuse.

Give, view, withdraw and notification settings are each one press, and each
confirmation says in plain words what changed. Steps read the consent state
from the client profile (a cache the ledger keeps in step with its replay) and
return `consent.record` effects; the effect handler writes the ledger, and
the turn fails — nothing is confirmed — if Redis does not accept the write.

Button values (`flow:consent:<value>`):
  give | revoke | status | prefs     open a menu
  g:<situation|*>                    grant proactive service on a life situation
  r:<kind>:<scope> | r:all           withdraw (also the «Отписаться» button)
  pc:<category>  pf:<category>:<frequency>  q  qs:<22-08|…|off>   preferences
  x                                  leave everything as it is
These buttons work in any conversation state: the module routes them here
even when another flow is active (a notification's «Отписаться» must always
work).

Withdrawing a personal-data consent also returns the effect `privacy.purge`
(handled by bot/privacy): the data collected under it is deleted, and the
client is told what was deleted and what is kept. «Удалите мои данные»
(revoke_consent with the entity `erase`) is not a withdrawal: bot/privacy
asks to confirm an erasure of everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from bot.core import texts as core_texts
from bot.core.messages import Button, Reply, ReplyKind
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step
from knowledge_base.models import LIFE_SITUATIONS

from . import texts
from .documents import Documents, documents, show
from .model import (ALL, QUIET_SCOPE, Action, Category, ConsentState, Frequency, Kind,
                    state_from_profile)

NAME = "consent"
RECORD = "consent.record"
START_INTENTS = ("give_consent", "revoke_consent", "consent_status", "notification_settings")
MIN_SCORE = 0.5
PURGE = "privacy.purge"  # delete what was collected under withdrawn personal-data consents (bot/privacy)
ERASE_ENTITY = "erase"  # «удалите мои данные»: with revoke_consent, a request to erase everything


def record(kind: Kind, scope: str, action: Action, *, reason: str = "", settings: dict | None = None,
           shown=None) -> dict[str, Any]:
    """A ledger record without who / when / channel (the effect handler adds those)."""
    data = {"kind": kind.value, "scope": scope, "action": action.value, "reason": reason,
            "settings": settings or {}}
    if shown is not None:
        data.update(shown.ledger_fields())
    return data


def record_effect(*records: dict[str, Any]) -> Effect:
    return Effect(RECORD, {"records": list(records)})


def unsubscribe_button(kind: Kind, scope: str) -> Button:
    return button(NAME, texts.UNSUBSCRIBE, f"r:{kind.value}:{scope}")


def category_off_button(category: Category) -> Button:
    return button(NAME, texts.UNSUBSCRIBE, f"pf:{category.value}:{Frequency.off.value}")


def settings_button() -> Button:
    return button(NAME, texts.SETTINGS_BUTTON, "prefs")


def _info(text: str, *buttons: Button) -> Reply:
    return reply(text, *buttons, kind=ReplyKind.info)


class ConsentFlow:
    name = NAME
    start_intents = START_INTENTS

    def __init__(self, *, org: str, tz: tzinfo, default_quiet: str, docs: Documents | None = None):
        self.org = org
        self.tz = tz
        self.default_quiet = default_quiet
        self.docs = docs or documents()

    # ------------------------------------------------------------- protocol
    def start(self, ctx: FlowContext, event: FlowEvent) -> Step:
        return self._open(event.intent or "consent_status", ctx, event.entities.get("life_situation"))

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        if event.payload is not None:
            return self.press(event.payload, ctx)
        stage = state.get("stage")
        if event.intent == "revoke_consent" and event.entities.get(ERASE_ENTITY):
            return Step(state=None, passthrough=True)  # an erasure request: bot/privacy takes it
        if event.intent in START_INTENTS and event.score >= MIN_SCORE:
            return self._open(event.intent, ctx, event.entities.get("life_situation"))
        situation = event.entities.get("life_situation")
        if stage == "give" and situation in LIFE_SITUATIONS:
            return self._grant_situation(situation, ctx)
        if stage == "confirm" and event.intent in ("affirm", "thank") and event.score >= MIN_SCORE:
            return self._grant_situation(state["situation"], ctx)
        if stage in ("confirm", "give", "revoke", "prefs") and event.intent == "deny" and event.score >= MIN_SCORE:
            return Step(state=None, replies=[_info(texts.CANCELLED)])
        return Step(state=state, passthrough=True)  # a question mid-menu: answered as usual

    def press(self, value: str, ctx: FlowContext) -> Step:
        """A consent button, whatever the conversation's state."""
        action, _, arg = value.partition(":")
        if action in ("give", "revoke", "status", "prefs") and not arg:
            intent = {"give": "give_consent", "revoke": "revoke_consent", "status": "consent_status",
                      "prefs": "notification_settings"}[action]
            return self._open(intent, ctx, None)
        if action == "g" and (arg in LIFE_SITUATIONS or arg == ALL):
            return self._grant_situation(arg, ctx)
        if action == "r" and arg:
            return self._withdraw(arg, ctx)
        if action == "pc" and arg in Category.__members__:
            return self._category_menu(Category(arg), ctx)
        if action == "pf":
            cat, _, freq = arg.partition(":")
            if cat in Category.__members__ and freq in Frequency.__members__:
                return self._set_frequency(Category(cat), Frequency(freq))
        if action == "q" and not arg:
            return self._quiet_menu(ctx)
        if action == "qs" and arg in texts.QUIET_CHOICES:
            return self._set_quiet(texts.QUIET_CHOICES[arg])
        if action == "x":
            return Step(state=None, replies=[_info(texts.CANCELLED)])
        return Step(state=None, replies=[_info(core_texts.UNKNOWN_BUTTON)])

    # ---------------------------------------------------------------- menus
    def _open(self, intent: str, ctx: FlowContext, situation: str | None) -> Step:
        state = state_from_profile(ctx.profile)
        if intent == "give_consent":
            if situation in LIFE_SITUATIONS:
                return self._confirm_situation(situation, state)
            return self._give_menu(state)
        if intent == "revoke_consent":
            return self._revoke_menu(state)
        if intent == "notification_settings":
            return self._prefs_menu(state)
        return self._status(state)

    def _status(self, state: ConsentState) -> Step:
        text = texts.render_status(state, self.tz, self.default_quiet)
        buttons = [button(NAME, texts.GIVE_BUTTON, "give")]
        if any(g.kind is not Kind.notify for g in state.active()):
            buttons.append(button(NAME, texts.REVOKE_BUTTON, "revoke"))
        buttons.append(settings_button())
        return Step(state=None, replies=[_info(text, *buttons)])

    def _situation_shown(self, situation: str):
        return show(self.docs.for_kind(Kind.situation), self.org, texts.topic_phrase(situation))

    def _give_menu(self, state: ConsentState) -> Step:
        generic = show(self.docs.for_kind(Kind.situation), self.org, "по выбранной вами теме")
        buttons = []
        for sid, title in LIFE_SITUATIONS.items():
            mark = "✓ " if state.has(f"situation:{sid}") else ""
            buttons.append(button(NAME, f"{mark}{title.capitalize()}", f"g:{sid}"))
        buttons.append(button(NAME, texts.ALL_TOPICS_BUTTON, f"g:{ALL}"))
        buttons.append(button(NAME, texts.NOT_NOW, "x"))
        text = texts.GIVE_MENU.format(text=generic.text, version=generic.version)
        return Step(state={"stage": "give"}, replies=[reply(text, *buttons)])

    def _confirm_situation(self, situation: str, state: ConsentState) -> Step:
        shown = self._situation_shown(situation)
        return Step(state={"stage": "confirm", "situation": situation}, replies=[reply(
            texts.GIVE_ONE.format(text=shown.text, version=shown.version),
            button(NAME, texts.AGREE, f"g:{situation}"), button(NAME, texts.NOT_NOW, "x"))])

    def _revoke_menu(self, state: ConsentState) -> Step:
        grants = [g for g in state.active() if g.kind is not Kind.notify]
        if not grants:
            return Step(state=None, replies=[_info(texts.NOTHING_TO_REVOKE, button(NAME, texts.GIVE_BUTTON, "give"))])
        buttons = [button(NAME, texts.short_title(g.kind, g.scope), f"r:{g.kind.value}:{g.scope}") for g in grants]
        if len(grants) > 1:
            buttons.append(button(NAME, texts.REVOKE_ALL_BUTTON, "r:all"))
        buttons.append(button(NAME, texts.KEEP_BUTTON, "x"))
        return Step(state={"stage": "revoke"}, replies=[reply(texts.REVOKE_MENU, *buttons)])

    def _prefs_menu(self, state: ConsentState) -> Step:
        quiet = texts.quiet_title(state.quiet or self.default_quiet)
        items = "\n".join(f"• {line}" for line in texts.notify_items(state, "\n").split("\n"))
        buttons = [button(NAME, f"{texts.CATEGORY_TITLES[c]}: {texts.FREQUENCY_TITLES[state.frequency_of(c)]}",
                          f"pc:{c.value}") for c in Category]
        buttons.append(button(NAME, f"Тихие часы: {quiet}", "q"))
        buttons.append(button(NAME, texts.DONE_BUTTON, "x"))
        return Step(state={"stage": "prefs"}, replies=[reply(texts.PREFS_MENU.format(items=items, quiet=quiet),
                                                             *buttons)])

    def _category_menu(self, category: Category, ctx: FlowContext) -> Step:
        current = state_from_profile(ctx.profile).frequency_of(category)
        buttons = [button(NAME, ("✓ " if f is current else "") + texts.FREQUENCY_TITLES[f].capitalize(),
                          f"pf:{category.value}:{f.value}") for f in Frequency]
        return Step(state={"stage": "prefs"}, replies=[reply(
            texts.PREFS_CATEGORY.format(title=texts.CATEGORY_TITLES[category]), *buttons)])

    def _quiet_menu(self, ctx: FlowContext) -> Step:
        quiet = state_from_profile(ctx.profile).quiet or self.default_quiet
        buttons = [button(NAME, texts.quiet_title(v) if v != "off" else texts.NO_QUIET_BUTTON, f"qs:{k}")
                   for k, v in texts.QUIET_CHOICES.items()]
        return Step(state={"stage": "prefs"}, replies=[reply(
            texts.PREFS_QUIET.format(quiet=texts.quiet_title(quiet)), *buttons)])

    # -------------------------------------------------------------- changes
    def _grant_situation(self, situation: str, ctx: FlowContext) -> Step:
        state = state_from_profile(ctx.profile)
        existing = state.grants.get(f"situation:{situation}")
        if existing:
            return Step(state=None, replies=[_info(texts.ALREADY_GRANTED.format(
                date=texts.date(existing.granted_at, self.tz), title=existing.title))])
        shown = self._situation_shown(situation)
        confirm = texts.GRANTED.format(date=texts.date(ctx.now.timestamp(), self.tz), title=shown.title,
                                       text=shown.text, version=shown.version)
        return Step(state=None, replies=[_info(confirm, settings_button())],
                    effects=[record_effect(record(Kind.situation, situation, Action.grant, shown=shown))])

    def _withdraw(self, target: str, ctx: FlowContext) -> Step:
        state = state_from_profile(ctx.profile)
        if target == "all":
            grants = [g for g in state.active() if g.kind is not Kind.notify]
        else:
            kind, _, scope = target.partition(":")
            if kind not in Kind.__members__ or not scope:
                return Step(state=None, replies=[_info(core_texts.UNKNOWN_BUTTON)])
            grant = state.grants.get(target)
            if grant is None:
                # already withdrawn; for personal data, finish the deletion too (safe to repeat:
                # it completes one that failed half-way)
                purge = [Effect(PURGE, {"purposes": [scope]})] if kind == Kind.personal_data.value else []
                return Step(state=None, replies=[_info(texts.ALREADY_REVOKED.format(
                    title=texts.short_title(Kind(kind), scope)))], effects=purge)
            grants = [grant]
        if not grants:
            return Step(state=None, replies=[_info(texts.NOTHING_TO_REVOKE)])
        titles = "; ".join(g.title or texts.short_title(g.kind, g.scope) for g in grants)
        personal = [g.scope for g in grants if g.kind is Kind.personal_data]
        text = texts.REVOKED_PD if personal else texts.REVOKED
        text = text.format(date=texts.date(ctx.now.timestamp(), self.tz), titles=titles)
        records = [record(g.kind, g.scope, Action.withdraw, reason="unsubscribe") for g in grants]
        effects = [record_effect(*records)]
        if personal:  # after the ledger write: the deletion reads which consents are still active
            effects.append(Effect(PURGE, {"purposes": personal}))
        return Step(state=None, replies=[_info(text)], effects=effects)

    def _set_frequency(self, category: Category, frequency: Frequency) -> Step:
        text = texts.FREQUENCY_SAVED.format(title=texts.CATEGORY_TITLES[category],
                                            frequency=texts.FREQUENCY_TITLES[frequency])
        return Step(state=None, replies=[_info(text, settings_button())], effects=[record_effect(
            record(Kind.notify, category.value, Action.set, settings={"frequency": frequency.value}))])

    def _set_quiet(self, quiet: str) -> Step:
        text = texts.QUIET_SAVED.format(quiet=texts.quiet_title(quiet))
        return Step(state=None, replies=[_info(text, settings_button())], effects=[record_effect(
            record(Kind.notify, QUIET_SCOPE, Action.set, settings={"quiet": quiet}))])


# ------------------------------------------------------ personal-data gate
_ORG = {"name": "центр «Мой бизнес»"}  # set by the module's install() from ORG_NAME
GATE_KEY = "_pd"


@dataclass
class Gate:
    """What `ensure_personal_data_consent` decided.

    passed=False: return `step` from your flow's step as it is.
    passed=True: go on with `state`; put `effects` (the ledger write of a
    consent given just now) into the step you return. `just_given` means this
    event was the answer to the consent question: continue from your state
    (ask your next question), do not read the event as data.
    """

    passed: bool
    state: dict[str, Any]
    step: Step | None = None
    effects: list[Effect] = field(default_factory=list)
    just_given: bool = False


def has_personal_data_consent(profile: dict[str, str], purpose: str, docs: Documents | None = None) -> bool:
    """Consent for this purpose on the current version of its text."""
    grant = state_from_profile(profile).grants.get(f"personal_data:{purpose}")
    if grant is None:
        return False
    doc = (docs or documents()).for_purpose(purpose)
    return grant.text_id != doc.id or grant.version == str(doc.version)


def ensure_personal_data_consent(flow: str, purpose: str, state: dict[str, Any], event: FlowEvent,
                                 ctx: FlowContext, *, org: str | None = None,
                                 docs: Documents | None = None) -> Gate:
    """Ask for personal-data consent right before a flow first needs the data.

    Pure: call it at the top of your flow's `step`/`start` for a step that
    will collect personal data. Buttons are your flow's own
    (`flow:<flow>:pd_yes` / `pd_no`), so the engine routes the answer back to
    you. A refusal ends your flow politely and says what the client can still
    do; it is recorded (as declined) for the audit.
    """
    docs = docs or documents()
    shown = show(docs.for_purpose(purpose), org or _ORG["name"])
    if state.get(GATE_KEY) == purpose:
        rest = {k: v for k, v in state.items() if k != GATE_KEY}
        said_yes = event.payload == "pd_yes" or (event.text and event.intent == "affirm" and event.score >= MIN_SCORE)
        said_no = event.payload == "pd_no" or (event.text and event.intent == "deny" and event.score >= MIN_SCORE)
        if said_yes:
            return Gate(passed=True, state=rest, just_given=True,
                        effects=[record_effect(record(Kind.personal_data, purpose, Action.grant, shown=shown))])
        if said_no:
            return Gate(passed=False, state=rest, step=Step(
                state=None, replies=[_info(texts.PD_REFUSED)],
                effects=[record_effect(record(Kind.personal_data, purpose, Action.decline, shown=shown))]))
        if event.text and event.intent == "faq":
            return Gate(passed=False, state=state, step=Step(state=state, passthrough=True))
        return Gate(passed=False, state=state, step=Step(state=state, replies=[reply(
            texts.PD_REASK, button(flow, texts.PD_YES, "pd_yes"), button(flow, texts.PD_NO, "pd_no"))]))
    if has_personal_data_consent(ctx.profile, purpose, docs):
        return Gate(passed=True, state=state)
    return Gate(passed=False, state=state, step=Step(state={**state, GATE_KEY: purpose}, replies=[reply(
        texts.PD_ASK.format(text=shown.text, version=shown.version),
        button(flow, texts.PD_YES, "pd_yes"), button(flow, texts.PD_NO, "pd_no"))]))
