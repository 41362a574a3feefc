"""The service search in conversation (listed in bot/modules.py).

install: loads and checks the catalogue (knowledge_base/services.yaml, or
  `SERVICES_FILE`) against the knowledge base and the contract's intents; an
  interceptor answers «какие услуги центра мне доступны?», «что мне
  доступно?» (recognise.py) outside flows and operator conversations with the
  three services that fit the client's profile best (the segment and life
  situation the core remembers from any message), each a button that leads
  on; a client whose segment is unknown is asked for it. `do:find_services`
  (a button or a menu) does the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from bot.core.messages import Button, Incoming, ReplyKind, Understanding
from bot.modules import Module
from bot.settings import ROOT
from knowledge_base.services import Catalogue, Service, load_catalogue

from . import texts
from .recognise import asked_segment, asks_for_services

if TYPE_CHECKING:
    from bot.core.engine import Engine, Turn
    from bot.runtime import Runtime

SHOWN = 3


def contract_intents() -> list[str]:
    data = yaml.safe_load((ROOT / "contract" / "intents.yaml").read_text(encoding="utf-8"))
    return list(data["intents"])


def install(runtime: Runtime) -> None:
    catalogue = load_catalogue(runtime.settings.services_file, runtime.kb.ids(), contract_intents())

    async def intercept(engine: Engine, turn: Turn, msg: Incoming) -> bool:
        text = msg.text or ""
        if msg.payload or turn.state.flow or turn.state.with_operator or not asks_for_services(text):
            return False
        engine.note_client_facts(turn, text, {})  # «я ИП, что мне доступно?»
        turn.state.pending = None
        answer(turn, catalogue, asked_segment(text))
        return True

    async def find(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        answer(turn, catalogue, None)

    runtime.engine.interceptors.append(intercept)
    runtime.engine.intent_handlers["find_services"] = find


def answer(turn: Turn, catalogue: Catalogue, asked_for: str | None) -> None:
    """The best three for the client («для ИП» asked for, or the profile's segment)."""
    turn.decision = "services"
    segment = asked_for or turn.profile.get("segment")
    found = catalogue.best_for(segment, turn.profile.get("life_situation"), SHOWN)
    if not found:
        turn.say(ReplyKind.info, texts.NOTHING)
        return
    known = segment in texts.WHO
    lead = texts.LEAD_FOR.format(who=texts.WHO[segment]) if segment in texts.WHO else texts.LEAD_UNKNOWN
    lines = [lead, *(item(n, s) for n, s in enumerate(found, 1)), "", texts.NEXT if known else texts.ASK_SEGMENT]
    buttons = [Button(title=s.title, payload=s.action) for s in found]
    if not known:
        buttons.append(Button(title=texts.SEGMENT_BUTTON, payload="do:set_segment"))
    turn.say(ReplyKind.options, "\n".join(lines), buttons)


def item(n: int, service: Service) -> str:
    return texts.ITEM.format(
        n=n,
        title=service.title,
        summary=service.summary,
        eligibility=service.eligibility,
        how_to_apply=service.how_to_apply,
    )


MODULE = Module("services", uses=("handoff",), install=install)
