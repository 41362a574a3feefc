"""Consent conversations as one pure flow: give, view, withdraw, notification
settings.

Each is one press, and each confirmation says in plain words what changed.
Steps read the consent state from the client profile (a cache the ledger
keeps in step with its replay) and return `RecordConsent` effects; its
handler writes the ledger, and the turn fails — nothing is confirmed — if
Redis does not accept the write.

Button values (`flow:consent:<value>`):
  give | revoke | status | prefs     open a menu
  g:<situation|*>                    grant proactive service on a life situation
  s | cs:<service> | gs:<service>    individual services (§4.5.4.1 form 2): the list, the
                                     text to confirm, grant (ids from knowledge_base/services.yaml)
  r:<kind>:<scope> | r:all           withdraw (also the «Отписаться» button)
  pc:<category>  pf:<category>:<frequency>  q  qs:<22-08|…|off>   preferences
  x                                  leave everything as it is
These buttons work in any conversation state: the module runs them aside of
another active flow (a notification's «Отписаться» must always work), which
comes back with its question when this one ends.

Withdrawing a personal-data consent also returns `ForgetPersonalData` (after
the ledger write): the data collected under it is deleted by whoever handles
the event (bot/privacy), the flow waits in the step `deleting` for what was
deleted (`DataDeleted`) and tells the client what was deleted and what is
kept; forms that held such data do not come back. «Удалите мои данные»
(revoke_consent with the entity `erase`) is not a withdrawal: bot/privacy asks
to confirm an erasure of everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import ClassVar, Literal

from bot.core import texts as core_texts
from bot.core.messages import Button, Reply, ReplyKind
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Step, button, reply
from knowledge_base.models import LIFE_SITUATIONS

from . import texts
from .documents import Documents, Shown, documents, show
from .gate import RecordConsent, ledger_record
from .model import ALL, QUIET_SCOPE, Action, Category, ConsentState, Frequency, Kind, state_from_profile
from .withdrawal import DataDeleted, ForgetPersonalData

NAME = "consent"
START_INTENTS = ("give_consent", "revoke_consent", "consent_status", "notification_settings")
MIN_SCORE = 0.5
ERASE_ENTITY = "erase"  # «удалите мои данные»: with revoke_consent, a request to erase everything
MENUS = {
    "give": "give_consent",
    "revoke": "revoke_consent",
    "status": "consent_status",
    "prefs": "notification_settings",
}


# A typed «да» to «Прошу подтвердить согласие», in the forms people write it; the NLU does not
# know «согласна» (issue 13). «не согласен» is no agreement.
_AGREES = re.compile(
    r"^(?:да|ага|конечно|хорошо|ок|окей|подтверждаю|(?:да,?\s+)?(?:я\s+)?(?:даю\s+согласие|"
    r"согласн(?:а|ы)|согласен(?:\(на\))?))(?:[\s,!.]+(?:да|конечно|подтверждаю|спасибо))*[\s!.)]*$"
)


def agrees_in_words(text: str | None) -> bool:
    return bool(text) and bool(_AGREES.match(" ".join((text or "").lower().replace("ё", "е").split())))


class MenuState(FlowState):
    """Which menu the client has in front of them."""

    step: Literal["give", "confirm", "services", "confirm_service", "revoke", "prefs", "deleting"]
    situation: str = ""  # confirm: the life situation whose consent is asked
    service: str = ""  # confirm_service: the individual service whose consent is asked


def unsubscribe_button(kind: Kind, scope: str) -> Button:
    return button(NAME, texts.UNSUBSCRIBE, f"r:{kind.value}:{scope}")


def category_off_button(category: Category) -> Button:
    return button(NAME, texts.UNSUBSCRIBE, f"pf:{category.value}:{Frequency.off.value}")


def settings_button() -> Button:
    return button(NAME, texts.SETTINGS_BUTTON, "prefs")


def _info(text: str, *buttons: Button) -> Reply:
    return reply(text, *buttons, kind=ReplyKind.info)


def _said(text: str, *buttons: Button) -> Step[MenuState]:
    """The flow is over with this message."""
    return Step(state=None, replies=(_info(text, *buttons),))


def _menu(
    step: Literal["give", "confirm", "services", "confirm_service", "revoke", "prefs"],
    text: str,
    *buttons: Button,
    situation: str = "",
    service: str = "",
) -> Step[MenuState]:
    return Step(state=MenuState(step=step, situation=situation, service=service), replies=(reply(text, *buttons),))


class ConsentFlow:
    name = NAME
    start_intents: tuple[str, ...] = START_INTENTS
    State: ClassVar[type[FlowState]] = MenuState
    effects: ClassVar[tuple[type[Effect], ...]] = (RecordConsent, ForgetPersonalData)

    def __init__(
        self,
        *,
        org: str,
        tz: tzinfo,
        default_quiet: str,
        docs: Documents | None = None,
        services: Mapping[str, str] | None = None,
    ) -> None:
        self.org = org
        self.tz = tz
        self.default_quiet = default_quiet
        self.docs = docs or documents()
        self.services = dict(services or {})  # individual services a client may consent to: id → title

    # ------------------------------------------------------------- protocol
    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[MenuState]:
        return self._open(event.intent or "consent_status", ctx, event.entities.get("life_situation"))

    def step(self, state: MenuState, event: FlowEvent, ctx: FlowContext) -> Step[MenuState]:
        if isinstance(event.outcome, DataDeleted):
            return self._deleted(event.outcome)
        if event.payload is not None:
            return self.press(event.payload, ctx)
        if state.step == "deleting":  # only an outcome answers it: the text is a new request
            return Step(state=None, passthrough=True)
        if event.intent == "revoke_consent" and event.entities.get(ERASE_ENTITY):
            return Step(state=None, passthrough=True)  # an erasure request: bot/privacy takes it
        # «да», «согласен», «согласна» to «Прошу подтвердить согласие» is that consent, not a new menu
        agrees = agrees_in_words(event.text) or (
            event.intent in ("affirm", "thank", "give_consent") and event.score >= MIN_SCORE
        )
        if state.step == "confirm" and agrees:
            return self._grant_situation(state.situation, ctx)
        if state.step == "confirm_service" and agrees and state.service in self.services:
            return self._grant_service(state.service, ctx)
        if event.intent in START_INTENTS and event.score >= MIN_SCORE:
            return self._open(event.intent, ctx, event.entities.get("life_situation"))
        situation = event.entities.get("life_situation")
        if state.step == "give" and situation in LIFE_SITUATIONS:
            return self._grant_situation(situation, ctx)
        if event.intent == "deny" and event.score >= MIN_SCORE:
            return _said(texts.CANCELLED)
        return Step(state=state, passthrough=True)  # a question mid-menu: answered as usual

    def reprompt(self, state: MenuState, ctx: FlowContext) -> Step[MenuState]:
        """Back after a detour: the menu the client had, as it is now."""
        consents = state_from_profile(dict(ctx.profile))
        if state.step == "give":
            return self._give_menu(consents)
        if state.step == "confirm":
            return self._confirm_situation(state.situation)
        if state.step == "services":
            return self._services_menu(consents)
        if state.step == "confirm_service" and state.service in self.services:
            return self._confirm_service(state.service)
        if state.step == "revoke":
            return self._revoke_menu(consents)
        if state.step == "prefs":
            return self._prefs_menu(consents)
        return Step(state=None)  # deleting: nothing to ask

    def press(self, value: str, ctx: FlowContext) -> Step[MenuState]:
        """A consent button, whatever the conversation's state."""
        action, _, arg = value.partition(":")
        if action in MENUS and not arg:
            return self._open(MENUS[action], ctx, None)
        if action == "g" and (arg in LIFE_SITUATIONS or arg == ALL):
            return self._grant_situation(arg, ctx)
        if action == "s" and not arg and self.services:
            return self._services_menu(state_from_profile(dict(ctx.profile)))
        if action == "cs" and arg in self.services:
            return self._confirm_service(arg)
        if action == "gs" and arg in self.services:
            return self._grant_service(arg, ctx)
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
            return _said(texts.CANCELLED)
        return _said(core_texts.UNKNOWN_BUTTON)

    # ---------------------------------------------------------------- menus
    def _open(self, intent: str, ctx: FlowContext, situation: str | None) -> Step[MenuState]:
        consents = state_from_profile(dict(ctx.profile))
        if intent == "give_consent":
            if situation in LIFE_SITUATIONS:
                return self._confirm_situation(situation)
            return self._give_menu(consents)
        if intent == "revoke_consent":
            return self._revoke_menu(consents)
        if intent == "notification_settings":
            return self._prefs_menu(consents)
        return self._status(consents)

    def _status(self, consents: ConsentState) -> Step[MenuState]:
        text = texts.render_status(consents, self.tz, self.default_quiet)
        buttons = [button(NAME, texts.GIVE_BUTTON, "give")]
        if any(g.kind is not Kind.notify for g in consents.active()):
            buttons.append(button(NAME, texts.REVOKE_BUTTON, "revoke"))
        buttons.append(settings_button())
        return _said(text, *buttons)

    def _situation_shown(self, situation: str) -> Shown:
        return show(self.docs.for_kind(Kind.situation), self.org, texts.topic_phrase(situation))

    def _give_menu(self, consents: ConsentState) -> Step[MenuState]:
        generic = show(self.docs.for_kind(Kind.situation), self.org, texts.ANY_TOPIC)
        buttons = []
        for sid, title in LIFE_SITUATIONS.items():
            mark = "✓ " if consents.has(f"situation:{sid}") else ""
            buttons.append(button(NAME, f"{mark}{title.capitalize()}", f"g:{sid}"))
        buttons.append(button(NAME, texts.ALL_TOPICS_BUTTON, f"g:{ALL}"))
        if self.services:
            buttons.append(button(NAME, texts.SERVICES_BUTTON, "s"))
        buttons.append(button(NAME, texts.NOT_NOW, "x"))
        return _menu("give", texts.GIVE_MENU.format(text=generic.text, version=generic.version), *buttons)

    def _service_shown(self, service: str) -> Shown:
        return show(self.docs.for_kind(Kind.service), self.org, self.services[service])

    def _services_menu(self, consents: ConsentState) -> Step[MenuState]:
        buttons = [
            button(NAME, ("✓ " if consents.has(f"service:{sid}") else "") + title, f"cs:{sid}")
            for sid, title in self.services.items()
        ]
        buttons.append(button(NAME, texts.NOT_NOW, "x"))
        return _menu("services", texts.SERVICES_MENU, *buttons)

    def service_request(self, service: str) -> list[Reply]:
        """The consent for one service as the client confirms it themselves (its buttons work
        in any state): what an operator sends from the console."""
        return list(self._confirm_service(service).replies)

    def _confirm_service(self, service: str) -> Step[MenuState]:
        shown = self._service_shown(service)
        return _menu(
            "confirm_service",
            texts.GIVE_ONE.format(text=shown.text, version=shown.version),
            button(NAME, texts.AGREE, f"gs:{service}"),
            button(NAME, texts.NOT_NOW, "x"),
            service=service,
        )

    def _confirm_situation(self, situation: str) -> Step[MenuState]:
        shown = self._situation_shown(situation)
        return _menu(
            "confirm",
            texts.GIVE_ONE.format(text=shown.text, version=shown.version),
            button(NAME, texts.AGREE, f"g:{situation}"),
            button(NAME, texts.NOT_NOW, "x"),
            situation=situation,
        )

    def _revoke_menu(self, consents: ConsentState) -> Step[MenuState]:
        grants = [g for g in consents.active() if g.kind is not Kind.notify]
        if not grants:
            return _said(texts.NOTHING_TO_REVOKE, button(NAME, texts.GIVE_BUTTON, "give"))
        buttons = [
            button(NAME, texts.short_title(g.kind, self.services.get(g.scope, g.scope)), f"r:{g.kind.value}:{g.scope}")
            if g.kind is Kind.service
            else button(NAME, texts.short_title(g.kind, g.scope), f"r:{g.kind.value}:{g.scope}")
            for g in grants
        ]
        if len(grants) > 1:
            buttons.append(button(NAME, texts.REVOKE_ALL_BUTTON, "r:all"))
        buttons.append(button(NAME, texts.KEEP_BUTTON, "x"))
        return _menu("revoke", texts.REVOKE_MENU, *buttons)

    def _prefs_menu(self, consents: ConsentState) -> Step[MenuState]:
        quiet = texts.quiet_title(consents.quiet or self.default_quiet)
        items = "\n".join(f"• {line}" for line in texts.notify_items(consents, "\n").split("\n"))
        buttons = [
            button(
                NAME, f"{texts.CATEGORY_TITLES[c]}: {texts.FREQUENCY_TITLES[consents.frequency_of(c)]}", f"pc:{c.value}"
            )
            for c in Category
        ]
        buttons.append(button(NAME, texts.QUIET_BUTTON.format(quiet=quiet), "q"))
        buttons.append(button(NAME, texts.DONE_BUTTON, "x"))
        return _menu("prefs", texts.PREFS_MENU.format(items=items, quiet=quiet), *buttons)

    def _category_menu(self, category: Category, ctx: FlowContext) -> Step[MenuState]:
        current = state_from_profile(dict(ctx.profile)).frequency_of(category)
        buttons = [
            button(
                NAME,
                ("✓ " if f is current else "") + texts.FREQUENCY_TITLES[f].capitalize(),
                f"pf:{category.value}:{f.value}",
            )
            for f in Frequency
        ]
        return _menu("prefs", texts.PREFS_CATEGORY.format(title=texts.CATEGORY_TITLES[category]), *buttons)

    def _quiet_menu(self, ctx: FlowContext) -> Step[MenuState]:
        quiet = state_from_profile(dict(ctx.profile)).quiet or self.default_quiet
        buttons = [
            button(NAME, texts.quiet_title(v) if v != "off" else texts.NO_QUIET_BUTTON, f"qs:{k}")
            for k, v in texts.QUIET_CHOICES.items()
        ]
        return _menu("prefs", texts.PREFS_QUIET.format(quiet=texts.quiet_title(quiet)), *buttons)

    # -------------------------------------------------------------- changes
    def _grant_situation(self, situation: str, ctx: FlowContext) -> Step[MenuState]:
        return self._grant(Kind.situation, situation, ctx)

    def _grant_service(self, service: str, ctx: FlowContext) -> Step[MenuState]:
        return self._grant(Kind.service, service, ctx)

    def _grant(self, kind: Kind, scope: str, ctx: FlowContext) -> Step[MenuState]:
        """Consent to proactive messages on one life situation or one service (§4.5.4.1 forms 1–2)."""
        existing = state_from_profile(dict(ctx.profile)).grants.get(f"{kind.value}:{scope}")
        if existing:
            return _said(
                texts.ALREADY_GRANTED.format(date=texts.date(existing.granted_at, self.tz), title=existing.title)
            )
        shown = self._situation_shown(scope) if kind is Kind.situation else self._service_shown(scope)
        confirm = texts.GRANTED.format(
            date=texts.date(ctx.now.timestamp(), self.tz), title=shown.title, text=shown.text, version=shown.version
        )
        return _said(confirm, settings_button()).after(
            RecordConsent((ledger_record(kind, scope, Action.grant, shown=shown),))
        )

    def _withdraw(self, target: str, ctx: FlowContext) -> Step[MenuState]:
        consents = state_from_profile(dict(ctx.profile))
        if target == "all":
            grants = [g for g in consents.active() if g.kind is not Kind.notify]
        else:
            kind, _, scope = target.partition(":")
            if kind not in Kind.__members__ or not scope:
                return _said(core_texts.UNKNOWN_BUTTON)
            grant = consents.grants.get(target)
            if grant is None:
                said = _said(texts.ALREADY_REVOKED.format(title=texts.short_title(Kind(kind), scope)))
                if kind != Kind.personal_data.value:
                    return said
                # already withdrawn: finish the deletion too (safe to repeat: it completes one
                # that failed half-way)
                return Step(
                    state=MenuState(step="deleting"), replies=said.replies, effects=(ForgetPersonalData((scope,)),)
                )
            grants = [grant]
        if not grants:
            return _said(texts.NOTHING_TO_REVOKE)
        titles = "; ".join(g.title or texts.short_title(g.kind, g.scope) for g in grants)
        personal = tuple(g.scope for g in grants if g.kind is Kind.personal_data)
        text = (texts.REVOKED_PD if personal else texts.REVOKED).format(
            date=texts.date(ctx.now.timestamp(), self.tz), titles=titles
        )
        withdrawn = RecordConsent(
            tuple(ledger_record(g.kind, g.scope, Action.withdraw, reason="unsubscribe") for g in grants)
        )
        if not personal:
            return _said(text).after(withdrawn)
        # after the ledger write: the deletion reads which consents are still active
        return Step(
            state=MenuState(step="deleting"), replies=(_info(text),), effects=(withdrawn, ForgetPersonalData(personal))
        )

    def _deleted(self, report: DataDeleted) -> Step[MenuState]:
        """What was deleted under the withdrawn consents; the forms that held it end."""
        said = (_info(texts.purged(report.deleted, report.kept)),) if report.checked else ()
        return Step(state=None, replies=said, profile=report.profile, ends=report.flows)

    def _set_frequency(self, category: Category, frequency: Frequency) -> Step[MenuState]:
        text = texts.FREQUENCY_SAVED.format(
            title=texts.CATEGORY_TITLES[category], frequency=texts.FREQUENCY_TITLES[frequency]
        )
        return _said(text, settings_button()).after(
            RecordConsent(
                (ledger_record(Kind.notify, category.value, Action.set, settings={"frequency": frequency.value}),)
            )
        )

    def _set_quiet(self, quiet: str) -> Step[MenuState]:
        text = texts.QUIET_SAVED.format(quiet=texts.quiet_title(quiet))
        return _said(text, settings_button()).after(
            RecordConsent((ledger_record(Kind.notify, QUIET_SCOPE, Action.set, settings={"quiet": quiet}),))
        )
