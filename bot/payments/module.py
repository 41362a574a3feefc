"""Plug-in point of the payments feature (bot/modules.py).

install    builds the PaymentService (catalogue, order store, providers),
           registers the flow `pay` with its effect handlers (effects.py), the
           intents pay_fee and payment_status (conversation.py), and connects
           Telegram Payments to the Telegram channel when it runs
           (telegram_payments.connect)
routes     QR images, the YooKassa notification webhook, the return page (web.py);
           the QR payments screen in the operator console (console.py), when handoff is installed
background the reconciliation job
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import modules
from bot.core.messages import Reply
from bot.modules import Module
from handoff.schedule import load_schedule

from . import conversation, effects, reconcile, telegram_payments, texts
from . import qr as qr_codes
from .catalogue import load_catalogue
from .flow import PayFlow
from .orders import Order, OrderStore
from .service import Notifier, PaymentService, consent_notify
from .web import RETURN_PATH, add_routes
from .yookassa import CardProvider, YooKassaClient

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.runtime import Runtime
    from bot.settings import Settings

log = logging.getLogger("payments.module")


def public_base_url(settings: Settings) -> str:
    return (settings.payments_public_base_url or f"http://{settings.assistant_host}:{settings.assistant_port}").rstrip(
        "/"
    )


def organisation_zone(settings: Settings) -> ZoneInfo:
    """The zone every date a client or staff member sees is in: the working schedule's
    (HANDOFF_TIMEZONE or the schedule file's), as bookings and the console show them."""
    try:
        return load_schedule(settings.handoff_schedule_file, settings.handoff_timezone).zone
    except (OSError, ValueError):  # no readable schedule: the zone of notifications
        return ZoneInfo(settings.handoff_timezone or settings.notify_timezone)


def install(runtime: Runtime) -> None:
    svc = runtime.payments = _service(runtime)
    flow = PayFlow(svc.catalogue, svc.methods)
    engine = runtime.engine
    engine.register_flow(flow, effects.handlers(svc))
    engine.intent_handlers["pay_fee"] = conversation.start_with_context(flow)
    engine.intent_handlers["payment_status"] = conversation.payment_status(svc, flow)
    engine.answer_buttons.append(conversation.pay_button(svc.catalogue))
    svc.after_paid = conversation.after_paid(engine, runtime.outbound, svc, flow)
    if runtime.telegram is not None:
        telegram_payments.connect(runtime.telegram, svc)


def _service(runtime: Runtime) -> PaymentService:
    settings = runtime.settings
    catalogue = load_catalogue(settings.payments_catalogue_file)
    if catalogue.requisites_are_sample:
        log.warning(
            "fee catalogue has SAMPLE payee requisites: set your region's in %s", settings.payments_catalogue_file
        )
    base = public_base_url(settings)
    svc = PaymentService(
        OrderStore(runtime.redis, settings.payments_uin_prefix),
        catalogue,
        order_ttl_seconds=settings.payments_order_ttl_hours * 3600,
        notifier=_notifier(runtime),
        qr_encoding=settings.payments_qr_encoding,
        zone=runtime.handoff.schedule.zone if runtime.handoff is not None else organisation_zone(settings),
    )
    svc.register(qr_codes.QrProvider(base))
    if settings.yookassa_shop_id:
        svc.gateway = YooKassaClient(
            settings.yookassa_api_url,
            settings.yookassa_shop_id,
            settings.yookassa_secret_key,
            settings.yookassa_timeout_seconds,
        )
        svc.register(CardProvider(svc.gateway, base + RETURN_PATH))
    if settings.telegram_payments_provider_token:
        svc.register(telegram_payments.TelegramProvider(settings.telegram_payments_provider_token))
    return svc


def _notifier(runtime: Runtime) -> Notifier:
    async def notify(order: Order, replies: list[Reply]) -> bool:
        consent = consent_notify() if modules.installed(runtime, "consent") else None
        if consent is not None:
            # Queued durably (once per order and status); the consent module's
            # sender delivers it by the client's transactional-notification
            # settings (§4.6.4.5) to their last conversation.
            await consent(
                runtime,
                order.client_id,
                "transactional",
                "\n\n".join(r.text for r in replies),
                basis=texts.NOTIFY_BASIS.format(name=order.fee_name, uin=order.uin),
                key=f"payment:{order.id}:{order.status.value}",
            )
            return True
        return await runtime.outbound.send(order.channel, order.conversation_id, order.client_id, replies)

    return notify


def routes(app: FastAPI, runtime: Runtime) -> None:
    if runtime.payments is not None:
        add_routes(app, runtime.payments, runtime.redis)
        if modules.installed(runtime, "handoff"):  # the staff screen lives in the operator console
            from .console import install as console_pages

            console_pages(app)


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    if runtime.payments is None:
        return []
    return [reconcile.run(runtime.payments, runtime.settings.payments_reconcile_interval_seconds)]


MODULE = Module(
    "payments",
    provides=("payments",),
    uses=("telegram", "consent", "handoff"),
    install=install,
    routes=routes,
    background=background,
)
