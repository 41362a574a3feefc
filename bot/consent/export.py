"""Consent exports: a client's own history (part of R-15) and the compliance
export of the whole ledger for an auditor (JSON Lines or CSV).

CLI:
  python -m bot.consent.export audit --format csv --out consents.csv [--since 2025-01-01] [--until …]
  python -m bot.consent.export deliveries --format jsonl        # the notification delivery log
  python -m bot.consent.export client <client id>               # one client's history
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.consent import keys as consent_keys

from . import texts
from .ledger import Ledger
from .model import Action, Category, Frequency, Kind, Record

AUDIT_COLUMNS = [
    "recorded_at",
    "entry_id",
    "client_id",
    "kind",
    "scope",
    "action",
    "text_id",
    "version",
    "sha256",
    "title",
    "settings",
    "channel",
    "actor",
    "reason",
]
DELIVERY_COLUMNS = [
    "ts",
    "nid",
    "campaign",
    "client_id",
    "category",
    "status",
    "reason",
    "channel",
    "basis",
    "basis_granted_at",
]
ACTION_WORDS = {
    Action.grant: "дано согласие",
    Action.withdraw: "согласие отозвано",
    Action.decline: "в согласии отказано",
    Action.set: "изменена настройка",
    Action.erase: "данные удалены",
}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def audit_row(rec: Record) -> dict[str, Any]:
    return {
        "recorded_at": _iso(rec.ts),
        "entry_id": rec.id,
        "client_id": rec.client_id,
        "kind": rec.kind.value,
        "scope": rec.scope,
        "action": rec.action.value,
        "text_id": rec.text_id,
        "version": rec.version,
        "sha256": rec.sha256,
        "title": rec.title,
        "settings": json.dumps(rec.settings, ensure_ascii=False, sort_keys=True) if rec.settings else "",
        "channel": rec.channel,
        "actor": rec.actor,
        "reason": rec.reason,
    }


def history_entry(rec: Record, tz: tzinfo) -> dict[str, Any]:
    """One line of a client's consent history, in words they would use."""
    what = rec.title or texts.short_title(rec.kind, rec.scope)
    if rec.kind is Kind.notify:
        what = (
            f"тихие часы: {texts.quiet_title(rec.settings.get('quiet'))}"
            if rec.scope == "quiet"
            else f"уведомления «{_title(texts.CATEGORY_TITLES, Category, rec.scope)}»: "
            f"{_title(texts.FREQUENCY_TITLES, Frequency, rec.settings.get('frequency'))}"
        )
    return {
        "ts": rec.ts,
        "date": datetime.fromtimestamp(rec.ts, tz).strftime("%d.%m.%Y %H:%M"),
        "type": "consent",
        "action": rec.action.value,
        "action_title": ACTION_WORDS[rec.action],
        "what": what,
        "channel": texts.CHANNEL_TITLES.get(rec.channel, rec.channel),
        "text_id": rec.text_id,
        "version": rec.version,
        "sha256": rec.sha256,
    }


async def client_history(redis: Redis, client_id: str, tz: tzinfo | str = "Asia/Kamchatka") -> list[dict[str, Any]]:
    """A client's consent history, oldest first (for the «история обращений» view)."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    return [history_entry(r, tz) for r in await Ledger(redis).records(client_id)]


async def audit_rows(
    redis: Redis, since: float | None = None, until: float | None = None
) -> AsyncIterator[dict[str, Any]]:
    async for rec in Ledger(redis).audit(since, until):
        yield audit_row(rec)


async def delivery_rows(redis: Redis) -> AsyncIterator[dict[str, Any]]:
    start = "-"
    while True:
        entries = await redis.xrange(consent_keys.notify_deliveries(), min=start, count=1000)
        for _id, fields in entries:
            yield fields
        if len(entries) < 1000:
            return
        start = "(" + entries[-1][0]


def write_jsonl(rows: Iterable[dict[str, Any]], out) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(rows: Iterable[dict[str, Any]], out, columns: list[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def _date(value: str | None) -> float | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


async def _collect(rows: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row async for row in rows]


async def _main(args: argparse.Namespace) -> int:
    from bot.settings import get_settings

    from .cli import open_redis

    async with open_redis() as redis:
        if args.command == "client":
            rows = await client_history(redis, args.client_id, get_settings().notify_timezone)
            columns = list(rows[0]) if rows else ["date"]
        elif args.command == "audit":
            rows = await _collect(audit_rows(redis, _date(args.since), _date(args.until)))
            columns = AUDIT_COLUMNS
        else:
            rows = await _collect(delivery_rows(redis))
            columns = DELIVERY_COLUMNS
    buffer = io.StringIO(newline="")
    count = write_csv(rows, buffer, columns) if args.format == "csv" else write_jsonl(rows, buffer)
    if args.out:
        await asyncio.to_thread(Path(args.out).write_text, buffer.getvalue(), encoding="utf-8", newline="")
        print(f"wrote {count} rows to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.consent.export", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("audit", "every consent record of every client"),
        ("deliveries", "the notification delivery log"),
        ("client", "one client's consent history"),
    ):
        p = sub.add_parser(name, help=help_text)
        if name == "client":
            p.add_argument("client_id")
        if name == "audit":
            p.add_argument("--since", help="ISO date/time (UTC unless an offset is given)")
            p.add_argument("--until")
        p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        p.add_argument("--out", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


def _title(titles: Mapping[Any, str], kind: type[Enum], value: str | None) -> str:
    try:
        return titles[kind(value)]
    except (ValueError, KeyError):  # a value an older version wrote
        return str(value)
