"""Consultants' commands for appointments.

  python -m bot.booking today [--day YYYY-MM-DD]      the day's appointments (local time of the schedule)
  python -m bot.booking upcoming [--day YYYY-MM-DD]   that day's and the next 14 days'
  python -m bot.booking mark <id> attended|no_show --by <your name>
      whether the client came (who marked it and when is kept on the appointment)

Uses REDIS_URL, or the embedded Redis of `make run`; the topics and working
hours from BOOKING_TOPICS_FILE and HANDOFF_SCHEDULE_FILE (HANDOFF_TIMEZONE).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, time

from bot.consent.cli import open_redis
from bot.settings import Settings, get_settings
from handoff.schedule import load_schedule

from . import staff, texts
from .store import VISITS, AppointmentBook
from .topics import load_topics


async def run(args: argparse.Namespace, redis, settings: Settings, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    book = AppointmentBook(redis)
    if args.command == "mark":
        if not args.by.strip():
            print("Укажите своё имя: --by <имя>.", file=sys.stderr)
            return 2
        if not await staff.mark_visit(book, args.appointment, args.status, by=args.by, now=now):
            print("Отметить не получилось: такой записи нет или она отменена.", file=sys.stderr)
            return 1
        print(f"Запись {args.appointment}: {staff.VISIT_TITLES[args.status].lower()}.")
        return 0
    schedule = load_schedule(settings.handoff_schedule_file, settings.handoff_timezone)
    if args.day:
        now = datetime.combine(args.day, time(0), schedule.zone)
    topics = load_topics(settings.booking_topics_file)
    days = 0 if args.command == "today" else staff.UPCOMING_DAYS
    rows = await staff.agenda(book, topics, schedule.zone, now, days=days)
    if not rows:
        print("Записей нет.")
    current = None
    for row in rows:
        if row.day != current:
            current = row.day
            print(f"— {texts.day(row.day)} ({schedule.timezone_title or schedule.timezone})")
        print(f"{row.time}\t{row.topic}\t{row.client}\t{row.status}\t{row.appointment.id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.booking", description="appointments: consultants' tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, about in (("today", "the day's appointments"), ("upcoming", "the day's and the coming days'")):
        listing = sub.add_parser(name, help=about)
        listing.add_argument("--day", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    mark = sub.add_parser("mark", help="mark whether the client came")
    mark.add_argument("appointment")
    mark.add_argument("status", choices=VISITS)
    mark.add_argument("--by", required=True, help="your name (kept on the appointment)")
    args = parser.parse_args(argv)

    async def go() -> int:
        async with open_redis() as redis:
            return await run(args, redis, get_settings())

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main())
