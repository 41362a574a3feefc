"""Applications and unfinished drafts in Redis (keys: bot/applications/keys.py).

Submission is atomic and happens once per submission key (Lua); status
changes are optimistic transactions (WATCH/MULTI) checked against the one
transition table in status.py.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.applications import keys as app_keys
from bot.store.documents import update_document
from bot.store.durable import replicated

from .state import Draft
from .status import Application, ApplicationStatus, StatusChange, check_transition

# Clients and staff type the number in Latin letters or lower case too.
_LATIN = str.maketrans({"M": "М", "B": "Б", "m": "М", "b": "Б", "м": "М", "б": "Б"})
NUMBER_IN_TEXT = re.compile(r"(?i)\b([мm][бb])\s*-?\s*(\d{4})\s*-?\s*(\d{1,6})\b")


def normalize_number(text: str) -> str | None:
    """«мб-2026-123», «MB 2026 000123» → «МБ-2026-000123»."""
    m = NUMBER_IN_TEXT.search(text or "")
    return f"{m[1].translate(_LATIN)}-{m[2]}-{int(m[3]):06d}" if m else None


class ApplicationStore:
    def __init__(self, redis: Redis, *, prefix: str = "МБ", draft_ttl_s: int = 30 * 24 * 3600):
        self.redis = redis
        self.prefix = prefix
        self.draft_ttl_s = draft_ttl_s

    # ------------------------------------------------------------ submit
    async def create(
        self,
        *,
        form: str,
        title: str,
        client_id: str,
        conversation_id: str,
        channel: str,
        answers: dict[str, str],
        review_days: int,
        submit_key: str,
    ) -> tuple[Application, bool]:
        """The application of this submission key, and whether this call stored it (False: an
        earlier call with the same key did)."""
        existing = await self.redis.get(app_keys.application_create(submit_key))
        if existing and (app := await self.get(existing)):
            return app, False
        now = time.time()
        year = datetime.fromtimestamp(now, UTC).year
        seq = await self.redis.incr(app_keys.application_sequence(year))
        number = f"{self.prefix}-{year}-{seq:06d}"
        app = Application(
            number=number,
            form=form,
            title=title,
            client_id=client_id,
            conversation_id=conversation_id,
            channel=channel,
            answers=answers,
            review_days=review_days,
            created=now,
            updated=now,
            history=[StatusChange(status=ApplicationStatus.submitted, ts=now, by="client")],
        )
        owner = await self.redis.eval(
            app_keys.CREATE_APPLICATION_ONCE,
            5,
            app_keys.application_create(submit_key),
            app_keys.application(number),
            app_keys.application_client(client_id),
            app_keys.applications_all(),
            app_keys.application_draft(client_id, form),
            number,
            app.model_dump_json(),
            f"{now:.3f}",
            app_keys.APP_CREATE_TTL_S,
        )
        await replicated(self.redis)  # a submitted application must outlive a failover
        if owner == number:
            return app, True
        earlier = await self.get(owner)
        if earlier is None:
            raise KeyError(owner)  # the submit-once marker names an application that is gone
        return earlier, False

    # -------------------------------------------------------------- read
    async def get(self, number: str) -> Application | None:
        raw = await self.redis.get(app_keys.application(number))
        return Application.model_validate_json(raw) if raw else None

    async def for_client(self, client_id: str, limit: int = 10) -> list[Application]:
        numbers = await self.redis.zrevrange(app_keys.application_client(client_id), 0, limit - 1)
        apps = [await self.get(n) for n in numbers]
        return [a for a in apps if a]

    async def latest(self, limit: int = 50) -> list[Application]:
        numbers = await self.redis.zrevrange(app_keys.applications_all(), 0, limit - 1)
        apps = [await self.get(n) for n in numbers]
        return [a for a in apps if a]

    # ------------------------------------------------------------ status
    async def set_status(
        self, number: str, status: ApplicationStatus | str, *, comment: str = "", by: str = "staff"
    ) -> Application:
        """Change the status; raises KeyError (no such application) or TransitionError."""
        status = ApplicationStatus(status)

        def change(app: Application) -> Application:
            check_transition(app.status, status)
            now = time.time()
            app.status, app.comment, app.updated = status, comment, now
            app.history.append(StatusChange(status=status, ts=now, comment=comment, by=by))
            return app

        _, app = await update_document(self.redis, app_keys.application(number), Application, change, missing=number)
        return app

    # ------------------------------------------------------------ drafts
    async def save_draft(self, client_id: str, form: str, draft: Draft) -> None:
        await self.redis.set(
            app_keys.application_draft(client_id, form),
            json.dumps({**draft.model_dump(mode="json"), "saved": time.time()}, ensure_ascii=False),
            ex=self.draft_ttl_s,
        )

    async def drafts(self, client_id: str, form_ids: list[str]) -> dict[str, Draft]:
        if not form_ids:
            return {}
        raws = await self.redis.mget([app_keys.application_draft(client_id, f) for f in form_ids])
        return {f: Draft.model_validate_json(r) for f, r in zip(form_ids, raws) if r}

    async def delete_draft(self, client_id: str, form: str) -> None:
        await self.redis.delete(app_keys.application_draft(client_id, form))
