"""Staff commands for clients' personal data.

  python -m bot.privacy erase <client id> --by <your name> [--yes]
      erase everything about the client (what is kept and why is printed first;
      without --yes the command asks to confirm). The consent ledger records the
      erasure with your name. Client ids: tg:<Telegram user id>, phone:+7…,
      api:<key hash>:<client> — the console shows them on the conversation page.
  python -m bot.privacy pseudonym <client id>
      the pseudonym the kept records of an erased client carry (to find them on request).

Uses REDIS_URL, or the embedded Redis of `make run`. Run it where the
assistant's settings are (the same PRIVACY_PSEUDONYM_KEY). Messages to the
client's Telegram chat are sent by the console's erasure, not by this command.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from bot.channels.outbound import Outbound
from bot.consent.cli import open_redis
from bot.runtime import analytics_salt
from bot.settings import Settings, get_settings
from bot.store.conversations import ConversationStore
from bot.store.events import EventLog

from . import texts
from .erasure import Eraser

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass
class _Engine:
    conversations: ConversationStore
    events: EventLog


@dataclass
class CommandRuntime:
    """What the eraser needs, without the NLU, the knowledge base or the channels."""

    settings: Settings
    redis: object
    engine: _Engine
    outbound: Outbound = field(default_factory=Outbound)
    application_forms: object = None
    # No live services in a command: the eraser works on their stored data directly.
    handoff: None = None
    booking: None = None

    @classmethod
    async def create(cls, settings: Settings, redis) -> CommandRuntime:
        from bot.applications.forms import load_forms

        engine = _Engine(ConversationStore(redis), EventLog(redis, await analytics_salt(redis)))
        return cls(
            settings=settings,
            redis=redis,
            engine=engine,
            application_forms=load_forms(settings.applications_forms_file),
        )


async def run(args: argparse.Namespace, redis, settings: Settings, ask=input) -> int:
    eraser = Eraser(cast("Runtime", await CommandRuntime.create(settings, redis)))  # what the eraser reads of it
    if args.command == "pseudonym":
        print(await eraser.pseudonym(args.client_id))
        return 0
    if not args.by.strip():
        print("Укажите своё имя: --by <имя> (оно попадёт в журнал согласий).", file=sys.stderr)
        return 2
    inventory = await eraser.inventory(args.client_id)
    print(f"Клиент {args.client_id}. Будет удалено:\n" + texts.bullets(texts.CONFIRM_ALWAYS))
    print("Сохранится:\n" + texts.bullets(texts.kept_lines(inventory)))
    if not args.yes and ask("Удаление нельзя отменить. Удалить? Напишите «да»: ").strip().lower() != "да":
        print("Ничего не удалено.")
        return 1
    report = await eraser.erase(args.client_id, actor="staff", by=args.by.strip(), channel="cli")
    print(texts.staff_summary(report.deleted, report.kept, told=None))
    return 0


async def _main(args: argparse.Namespace) -> int:
    async with open_redis() as redis:
        return await run(args, redis, get_settings())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.privacy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    erase = sub.add_parser("erase", help="erase a client's personal data")
    erase.add_argument("client_id")
    erase.add_argument("--by", required=True, help="your name, for the audit record")
    erase.add_argument("--yes", action="store_true", help="do not ask to confirm")
    pseudo = sub.add_parser("pseudonym", help="the pseudonym of an erased client's kept records")
    pseudo.add_argument("client_id")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
