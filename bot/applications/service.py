"""Status in plain words, and the status change staff make (CLI, console).

`change_status(redis, store, number, status, comment=…)` changes the status
and queues a transactional notification for the client through the consent
module's durable queue (R-13): once per change (the key names the change).
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from . import texts
from .status import Application, ApplicationStatus
from .store import ApplicationStore

log = logging.getLogger("applications.service")


def local_date(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y")


def status_title(app: Application) -> str:
    return texts.STATUS_TITLES[app.status.value]


def next_step(app: Application) -> str:
    """What happens next, in plain words (the staff comment where it matters)."""
    s = app.status
    text = texts.STATUS_NEXT[s.value]
    if s is ApplicationStatus.need_info:
        comment = app.comment.strip().rstrip(".") + "." if app.comment.strip() else texts.NEED_INFO_DEFAULT
        return text.format(comment=comment)
    text = text.format(days=app.review_days)
    if app.comment and s is not ApplicationStatus.need_info:
        text += " " + texts.COMMENT_LINE.format(comment=app.comment.strip())
    return text


def status_line(app: Application, tz: tzinfo) -> str:
    return texts.STATUS_ITEM.format(
        number=app.number,
        title=app.title,
        date=local_date(app.created, tz),
        status=status_title(app).capitalize(),
        next=next_step(app),
    )


def notification_text(app: Application) -> str:
    return texts.NOTIFY_TEXT.format(number=app.number, title=app.title, status=status_title(app), next=next_step(app))


async def change_status(
    redis: Redis,
    store: ApplicationStore,
    number: str,
    status: ApplicationStatus | str,
    *,
    comment: str = "",
    by: str = "staff",
    tz: tzinfo | str = "Asia/Kamchatka",
) -> Application:
    """Change an application's status and notify the client (transactional).

    Raises KeyError (unknown number) or status.TransitionError (not allowed).
    """
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    app = await store.set_status(number, status, comment=comment, by=by)
    if app.erased_at:  # the client had their data erased: there is nobody to tell (bot/privacy)
        log.info("application status changed", extra={"status": app.status.value, "changes": len(app.history)})
        return app
    from bot.consent.notifications import enqueue  # the consent module owns delivery and preferences

    await enqueue(
        redis,
        app.client_id,
        "transactional",
        notification_text(app),
        basis=texts.NOTIFY_BASIS.format(number=app.number, date=local_date(app.created, tz)),
        key=notification_key(app),
    )
    log.info("application status changed", extra={"status": app.status.value, "changes": len(app.history)})
    return app


def notification_key(app: Application) -> str:
    """One notification per status change (the n-th change of this application)."""
    return f"application:{app.number}:{len(app.history)}"
