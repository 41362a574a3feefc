"""Staff command line for applications.

    python -m bot.applications.admin set-status МБ-2026-000123 approved --comment "…" [--by login]
    python -m bot.applications.admin show МБ-2026-000123
    python -m bot.applications.admin list [--limit 20]

A status change queues a transactional notification to the client (delivered
by the running assistant's notification sender).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.consent.cli import open_redis
from bot.settings import get_settings

from .service import change_status, status_title
from .status import ApplicationStatus, TransitionError
from .store import ApplicationStore, normalize_number


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot.applications.admin", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("set-status", help="change an application's status and notify the client")
    s.add_argument("number")
    s.add_argument("status", choices=[x.value for x in ApplicationStatus])
    s.add_argument("--comment", default="", help="shown to the client (reason, what to add)")
    s.add_argument("--by", default="staff", help="who changes it (for the status history)")
    sh = sub.add_parser("show", help="one application with its history")
    sh.add_argument("number")
    ls = sub.add_parser("list", help="latest applications")
    ls.add_argument("--limit", type=int, default=20)
    return p


async def _run(args) -> int:
    settings = get_settings()
    async with open_redis() as redis:
        store = ApplicationStore(redis, prefix=settings.applications_number_prefix)
        if args.command == "list":
            for latest in await store.latest(args.limit):
                print(f"{latest.number}\t{latest.status.value}\t{latest.form}")
            return 0
        number = normalize_number(args.number) or args.number
        if args.command == "show":
            app = await store.get(number)
            if app is None:
                print(f"no application {number}", file=sys.stderr)
                return 1
            print(app.model_dump_json(indent=2))
            return 0
        try:
            app = await change_status(
                redis, store, number, args.status, comment=args.comment, by=args.by, tz=settings.notify_timezone
            )
        except KeyError:
            print(f"no application {number}", file=sys.stderr)
            return 1
        except TransitionError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"{app.number}: {app.status.value} ({status_title(app)}); client notified")
        return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_run(_parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
