"""Plug-in point of the payments feature (bot/modules.py).

install    builds the PaymentService (catalogue, order store, providers),
           registers the flow `pay` (intent pay_fee), the intent
           payment_status, and wires Telegram Payments into the Telegram
           channel when it runs
routes     QR images, the YooKassa notification webhook, the return page
background the reconciliation job
"""

from __future__ import annotations

from bot.modules import Module

import logging
import re

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot import modules
from bot.core.engine import Engine, Turn
from bot.core.messages import Reply, ReplyKind, Understanding
from bot.core.numbers import is_digits
from bot.flows.base import FlowEvent, reply
from bot.store import keys

from . import flow as pay_flow
from . import qr as qr_codes
from . import reconcile, telegram_payments, texts
from . import uin as uin_codes
from .catalogue import format_rubles, load_catalogue
from .orders import Order, OrderStore, PaymentMethod, PaymentStatus
from .providers import ProviderUnavailable
from .service import OrderClosed, PaymentService, confirmation, consent_notify, status_reply
from .yookassa import CardProvider, YooKassaClient, handle_notification, notification_ref

log = logging.getLogger("payments.module")

WEBHOOK_PATH = "/payments/yookassa/notifications"
RETURN_PATH = "/payments/done"
UIN_IN_TEXT = re.compile(r"(?<!\d)\d[\d \-]{18,30}\d(?!\d)")


def service(runtime) -> PaymentService | None:
    return runtime.payments


def public_base_url(settings) -> str:
    return (settings.payments_public_base_url or f"http://{settings.assistant_host}:{settings.assistant_port}").rstrip("/")


# ------------------------------------------------------------------ install
def install(runtime) -> None:
    settings = runtime.settings
    catalogue = load_catalogue(settings.payments_catalogue_file)
    if catalogue.requisites_are_sample:
        log.warning("fee catalogue has SAMPLE payee requisites: set your region's in %s",
                    settings.payments_catalogue_file)
    base = public_base_url(settings)
    svc = PaymentService(OrderStore(runtime.redis, settings.payments_uin_prefix), catalogue,
                         order_ttl_seconds=settings.payments_order_ttl_hours * 3600,
                         notifier=_notifier(runtime), qr_encoding=settings.payments_qr_encoding)
    svc.register(qr_codes.QrProvider(base))
    if settings.yookassa_shop_id:
        svc.gateway = YooKassaClient(settings.yookassa_api_url, settings.yookassa_shop_id,
                                     settings.yookassa_secret_key, settings.yookassa_timeout_seconds)
        svc.register(CardProvider(svc.gateway, base + RETURN_PATH))
    if settings.telegram_payments_provider_token:
        svc.register(telegram_payments.TelegramProvider(settings.telegram_payments_provider_token))
    runtime.payments = svc

    flow = pay_flow.PayFlow(catalogue, lambda channel: [m.value for m in svc.methods(channel)])
    effects = _effects(svc, flow)
    runtime.engine.register_flow(flow, effects)
    runtime.engine.intent_handlers["pay_fee"] = _start_with_context(flow)
    runtime.engine.intent_handlers["payment_status"] = _payment_status(svc)
    _wire_telegram(runtime, svc)


def _notifier(runtime):
    async def notify(order: Order, replies: list[Reply]) -> bool:
        consent = consent_notify() if modules.installed(runtime, "consent") else None
        if consent is not None:
            # Queued durably (once per order and status); the consent module's
            # sender delivers it by the client's transactional-notification
            # settings (§4.6.4.5) to their last conversation.
            await consent(runtime, order.client_id, "transactional", "\n\n".join(r.text for r in replies),
                          basis=texts.NOTIFY_BASIS.format(name=order.fee_name, uin=order.uin),
                          key=f"payment:{order.id}:{order.status.value}")
            return True
        return await runtime.outbound.send(order.channel, order.conversation_id, order.client_id, replies)

    return notify


def _wire_telegram(runtime, svc: PaymentService) -> None:
    """Telegram Payments inside the Telegram channel, when that channel runs."""
    ch = runtime.telegram
    if ch is None:
        return
    async def send_invoice(order: Order, invoice: dict) -> bool:
        scheme, _, chat = order.conversation_id.partition(":")
        if scheme != "tg" or not is_digits(chat.removeprefix("-")):
            return False
        try:
            await ch.bot.send_invoice(chat_id=int(chat), **invoice)
        except Exception as exc:  # noqa: BLE001 - the client is offered another way to pay
            log.warning("could not send an invoice: %s", exc.__class__.__name__)
            return False
        return True

    async def after_paid(message, _order: Order) -> None:
        # Through the core, so the confirmation is rendered like every reply and the flow ends.
        await ch.turn(message.chat.id, message.from_user, payload="do:payment_status")

    if PaymentMethod.telegram in svc.providers:
        svc.invoice_sender = send_invoice
    ch.extend(telegram_payments.router(svc, after_paid), "pre_checkout_query")


# ------------------------------------------------------------- conversation
def _start_with_context(flow: pay_flow.PayFlow):
    """Start the flow with the fee the conversation points to (the last FAQ answered)."""

    async def start(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        entities = dict(u.entities) if u else {}
        suggested = flow.catalogue.for_topic(await engine.last_answered_topic(turn))
        if len(suggested) == 1:  # e.g. after «как открыть ИП?» → the ИП registration fee
            entities[pay_flow.CONTEXT_FEE] = suggested[0].id
        event = FlowEvent(text=turn.text, intent=u.intent if u else None, score=u.confidence if u else 1.0,
                          entities=entities)
        await engine.run_step(turn, flow, flow.start(engine.flow_context(turn), event))

    return start


def _end_flow(turn: Turn) -> None:
    turn.state.flow, turn.state.flow_state = None, {}


def _effects(svc: PaymentService, flow: pay_flow.PayFlow) -> dict:
    async def create(engine: Engine, turn: Turn, data: dict) -> None:
        order = await svc.create_order(data["fee"], client_id=turn.state.client_id,
                                       conversation_id=turn.state.conversation_id,
                                       channel=turn.state.channel, idempotency_key=data["key"])
        turn.state.flow_state["order"] = order.id

    async def start(engine: Engine, turn: Turn, data: dict) -> None:
        method = PaymentMethod(data["method"])
        order_id = turn.state.flow_state.get("order")
        try:
            order, started = await svc.start(order_id, method)
        except OrderClosed as closed:
            _closed(turn, closed.order)
            return
        except ProviderUnavailable:
            turn.state.flow_state["stage"] = "method"
            turn.replies.append(reply(texts.METHOD_UNAVAILABLE, *flow.methods_buttons(turn.state.channel)))
            return
        amount = format_rubles(order.amount_kopecks)
        if method is PaymentMethod.qr:
            details = qr_codes.details_of(order)
            requisites = qr_codes.requisites_text(details)
            try:
                qr_codes.payload(details, svc.qr_encoding)
                main = Reply(kind=ReplyKind.flow, text=texts.QR_READY.format(requisites=requisites),
                             image_url=started.image_url)
            except qr_codes.QrPayloadError:
                main = Reply(kind=ReplyKind.flow, text=texts.QR_UNAVAILABLE.format(requisites=requisites))
            if svc.catalogue.requisites_are_sample:
                main.text += "\n\n" + texts.SAMPLE_WARNING
            turn.replies.append(main)
            turn.replies.append(reply(texts.QR_AFTER.format(uin=order.uin), *flow.await_buttons()))
        elif method is PaymentMethod.card:
            turn.replies.append(reply(texts.CARD_READY.format(amount=amount, url=started.confirmation_url),
                                      *flow.await_buttons()))
        elif method is PaymentMethod.telegram:
            sent = svc.invoice_sender is not None and await svc.invoice_sender(order, started.invoice)
            if sent:
                turn.replies.append(reply(texts.TELEGRAM_READY.format(amount=amount), *flow.await_buttons()))
            else:
                turn.state.flow_state["stage"] = "method"
                turn.replies.append(reply(texts.TELEGRAM_UNAVAILABLE, *flow.methods_buttons(turn.state.channel)))

    async def check(engine: Engine, turn: Turn, data: dict) -> None:
        order_id = turn.state.flow_state.get("order")
        if not order_id:
            turn.replies.append(reply(texts.NOT_UNDERSTOOD_STEP, *flow.methods_buttons(turn.state.channel)))
            return
        order = await _fresh(svc, order_id)
        if order.status in (PaymentStatus.created, PaymentStatus.pending):
            turn.replies.append(Reply(kind=ReplyKind.flow, text=status_reply(order).text,
                                      buttons=flow.await_buttons()))
            return
        _closed(turn, order)
        if order.status is PaymentStatus.paid and not order.notified:
            await svc.orders.update(order.id, notified=True)

    return {pay_flow.CREATE: create, pay_flow.START: start, pay_flow.CHECK: check}


def _closed(turn: Turn, order: Order) -> None:
    """The order is paid, failed, expired or refunded: say so and leave the flow."""
    turn.replies.append(status_reply(order) if order.status is not PaymentStatus.paid else confirmation(order))
    _end_flow(turn)


async def _fresh(svc: PaymentService, order_id: str) -> Order:
    """The order after asking its providers (a quiet failure keeps what we know) and expiry."""
    try:
        order, _ = await svc.refresh(order_id, announce=False)
    except ProviderUnavailable:
        order = await svc.orders.get(order_id)
    order, _ = await svc.expire_if_due(order)
    return order


def _payment_status(svc: PaymentService):
    """«Прошла ли моя оплата?» — answered from the client's orders (and a УИН if typed)."""

    async def handle(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        turn.decision = "payment_status"
        client = turn.state.client_id
        typed = UIN_IN_TEXT.search(turn.text or "")
        if typed:
            try:
                uin = uin_codes.validate(typed.group())
            except uin_codes.UinError as exc:
                turn.say(ReplyKind.error, f"Не получилось проверить: {exc}.")
                return
            order = await svc.orders.by_uin(uin)
            orders = [order] if order and order.client_id == client else []
        else:
            orders = await svc.orders.for_client(client, limit=3)
        if not orders:
            turn.say(ReplyKind.info, texts.NO_PAYMENTS)
            return
        orders = [await _fresh(svc, o.id) if o.status in (PaymentStatus.created, PaymentStatus.pending) else o
                  for o in orders]
        latest = orders[0]
        if latest.status is PaymentStatus.paid or len(orders) == 1:
            turn.replies.append(confirmation(latest) if latest.status is PaymentStatus.paid else status_reply(latest))
            if latest.status is PaymentStatus.paid and not latest.notified:
                await svc.orders.update(latest.id, notified=True)
        else:
            lines = "\n".join(texts.STATUS_LINE.format(
                name=o.fee_name, amount=format_rubles(o.amount_kopecks), uin=o.uin,
                status=texts.STATUS_TITLES[o.status.value]) for o in orders)
            turn.say(ReplyKind.info, texts.STATUS_LIST.format(lines=lines))
        if turn.state.flow == pay_flow.NAME:
            current = next((o for o in orders if o.id == turn.state.flow_state.get("order")), None)
            if current and current.status not in (PaymentStatus.created, PaymentStatus.pending):
                _end_flow(turn)

    return handle


# ------------------------------------------------------------------- routes
def routes(app, runtime) -> None:
    svc = service(runtime)
    if svc is None:
        return

    @app.get(qr_codes.QR_ROUTE, include_in_schema=False)
    async def qr_image(order_id: str):
        order = await svc.orders.get(order_id) if re.fullmatch(r"[0-9a-f]{24}", order_id) else None
        if order is None:
            return JSONResponse(status_code=404, content={
                "error": "not_found",
                "message": "QR-код не найден: ссылка устарела. Запросите оплату в чате ещё раз."})
        data = qr_codes.payload(qr_codes.details_of(order), svc.qr_encoding)
        return Response(content=qr_codes.png(data), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.post(WEBHOOK_PATH, include_in_schema=False)
    async def yookassa_notification(request: Request):
        try:
            body = await request.json()
        except ValueError:
            body = None
        ref = notification_ref(body) if isinstance(body, dict) else None
        if ref is None or svc.gateway is None:
            return {"status": "ignored"}
        seen = keys.seen("yookassa", f"{ref[0]}:{ref[1]}")
        if await runtime.redis.exists(seen):
            return {"status": "duplicate"}
        try:
            outcome = await handle_notification(svc, svc.gateway, body)
        except ProviderUnavailable:
            # Could not verify with the gateway: a non-200 makes it deliver again.
            return JSONResponse(status_code=503, content={"status": "retry"})
        if outcome in ("applied", "unchanged"):
            await runtime.redis.set(seen, "1", ex=keys.SEEN_TTL_S)
        return {"status": outcome}

    @app.get(RETURN_PATH, include_in_schema=False)
    async def payment_done():
        return HTMLResponse(
            "<!doctype html><html lang='ru'><meta charset='utf-8'><title>Оплата</title>"
            "<body style='font-family:sans-serif;max-width:36em;margin:3em auto'>"
            "<h1>Спасибо!</h1><p>Если оплата прошла, подтверждение придёт в чат с помощником. "
            "Вернитесь в чат и спросите «прошла ли моя оплата?», если хотите проверить сами.</p></body></html>")


def background(runtime) -> list:
    svc = service(runtime)
    if svc is None:
        return []
    return [reconcile.run(svc, runtime.settings.payments_reconcile_interval_seconds)]


MODULE = Module("payments", provides=("payments",), uses=("telegram", "consent"), install=install, routes=routes,
                background=background)
