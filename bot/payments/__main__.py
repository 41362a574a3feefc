"""Staff commands for QR / bank-transfer payments.

  python -m bot.payments mark <УИН> --amount 1200 --by <your name>
      mark the order of this УИН received (the amount must be the accrual's)
  python -m bot.payments statement <file.csv> --by <your name>
      import a bank statement: every row whose УИН and amount match an order is marked
  python -m bot.payments awaiting
      orders awaiting a QR / requisites payment
  python -m bot.payments audit
      the latest marks: who, when, how, the result

Uses REDIS_URL, or the embedded Redis of `make run`. The client's confirmation
is queued as a transactional notification (the consent module's durable queue),
which the running assistant delivers; every mark is written to the audit stream.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from bot.consent.cli import open_redis
from bot.core.messages import Reply
from bot.settings import Settings, get_settings

from . import staff, texts
from .catalogue import format_rubles, load_catalogue
from .module import organisation_zone
from .orders import Order, OrderStore
from .service import PaymentService, consent_notify


def command_service(settings: Settings, redis) -> PaymentService:
    """The payment service of a command: orders and the client notification, no providers."""
    queue = consent_notify()

    async def notify(order: Order, replies: list[Reply]) -> bool:
        if queue is None:
            return False
        await queue(
            SimpleNamespace(redis=redis),
            order.client_id,
            "transactional",
            "\n\n".join(r.text for r in replies),
            basis=texts.NOTIFY_BASIS.format(name=order.fee_name, uin=order.uin),
            key=f"payment:{order.id}:{order.status.value}",
        )
        return True

    return PaymentService(
        OrderStore(redis, settings.payments_uin_prefix),
        load_catalogue(settings.payments_catalogue_file),
        order_ttl_seconds=settings.payments_order_ttl_hours * 3600,
        notifier=notify,
        zone=organisation_zone(settings),
    )


async def run(args: argparse.Namespace, redis, settings: Settings) -> int:
    svc = command_service(settings, redis)
    zone = organisation_zone(settings)
    if args.command == "awaiting":
        for order in await staff.awaiting(svc):
            created = datetime.fromtimestamp(order.created_at, zone).strftime("%d.%m.%Y %H:%M")
            print(f"{order.uin}\t{format_rubles(order.amount_kopecks)}\t{order.fee_name}\t{created}")
        return 0
    if args.command == "audit":
        for entry in await staff.audit(redis):
            when = datetime.fromtimestamp(entry.ts, zone).strftime("%d.%m.%Y %H:%M")
            print(f"{when}\t{entry.by}\t{entry.source}\t{entry.uin}\t{entry.title}")
        return 0
    by = args.by.strip()
    if not by:
        print("Укажите своё имя: --by <имя> (оно попадёт в журнал отметок).", file=sys.stderr)
        return 2
    if args.command == "mark":
        kopecks = staff.parse_rubles(args.amount)
        if kopecks is None:
            print("Сумма не распознана: напишите её в рублях, например 1200 или 1200,00.", file=sys.stderr)
            return 2
        marked = await staff.mark_received(svc, redis, args.uin, kopecks, by=by, source="cli")
        print(f"УИН {marked.uin}: {marked.title}.")
        return 0 if marked.result in ("marked", "already_paid") else 1
    try:
        report = await staff.import_statement(svc, redis, args.text, by=by, source="statement")
    except staff.StatementError as exc:
        print(f"Выписку не удалось прочитать: {exc}.", file=sys.stderr)
        return 2
    for m in report:
        print(f"{m.uin or 'без УИН'}: {m.title}.")
    marked_count = sum(1 for m in report if m.result == "marked")
    print(f"Строк: {len(report)}, отмечено оплаченными: {marked_count}.")
    return 0 if all(m.result in ("marked", "already_paid") for m in report) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.payments", description="QR / bank-transfer payments: staff tools"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mark = sub.add_parser("mark", help="mark one payment received by its УИН")
    mark.add_argument("uin")
    mark.add_argument("--amount", required=True, help="rubles, e.g. 1200 or 1200,00")
    mark.add_argument("--by", required=True, help="your name (goes to the audit)")
    statement = sub.add_parser("statement", help="import a bank statement CSV")
    statement.add_argument("file")
    statement.add_argument("--by", required=True, help="your name (goes to the audit)")
    sub.add_parser("awaiting", help="orders awaiting a QR payment")
    sub.add_parser("audit", help="the latest marks")
    args = parser.parse_args(argv)
    if args.command == "statement":
        args.text = staff.decode(Path(args.file).read_bytes())

    async def go() -> int:
        async with open_redis() as redis:
            return await run(args, redis, get_settings())

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main())
