"""Delivering operator messages to the client's channel.

API clients have no push channel: their messages wait in a per-conversation
outbox (a Redis stream) and are fetched with
`GET /api/v1/conversations/{conversation_id}/messages?after=<cursor>`.
The terminal chat prints them. Other channels register their own senders.
"""

from __future__ import annotations

import sys
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from pydantic import BaseModel, Field

from bot.channels.api import CONVERSATION_ID, ApiError, api_key_id, scoped_conversation_id
from bot.core.messages import Reply
from handoff import keys as handoff_keys

# A Redis stream id `<ms>-<seq>`, or empty for "from the start". At most 19 digits
# each, so both parts stay below 2^64 (Redis refuses larger ones).
CURSOR = r"^([0-9]{1,19}-[0-9]{1,19})?$"
PAGE = 100


def api_sender(redis):
    async def send(conversation_id: str, client_id: str, replies: list[Reply]) -> bool:
        key = handoff_keys.outbox(conversation_id)
        pipe = redis.pipeline(transaction=True)
        for r in replies:
            pipe.xadd(key, {"reply": r.model_dump_json()}, maxlen=handoff_keys.OUTBOX_MAXLEN, approximate=True)
        pipe.expire(key, handoff_keys.OUTBOX_TTL_S)
        await pipe.execute()
        return True

    return send


def terminal_sender(stdout=None):
    async def send(conversation_id: str, client_id: str, replies: list[Reply]) -> bool:
        out = stdout or sys.stdout
        for r in replies:
            who = "Оператор" if r.kind.value == "operator" else "Помощник"
            buttons = "".join(f"\n  • {b.title}" for b in r.buttons)
            out.write(f"\n{who}: {r.text}{buttons}\n")
        out.flush()
        return True

    return send


class OutboxPage(BaseModel):
    replies: list[Reply] = Field(
        description="Messages sent to this conversation on their own "
        "(operator replies, the rating question …), oldest first."
    )
    cursor: str = Field(description="Pass as `after` on the next call to get only newer messages.")


def add_outbox_route(app: FastAPI, runtime) -> None:
    router = APIRouter()

    @router.get(
        "/api/v1/conversations/{conversation_id}/messages",
        response_model=OutboxPage,
        responses={401: {"model": ApiError}, 422: {"model": ApiError}},
        summary="Poll messages sent to a conversation outside a turn (operator replies)",
    )
    async def poll_messages(
        conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID)],
        key_id: Annotated[str, Depends(api_key_id)],
        after: Annotated[
            str | None,
            Query(description="Cursor from the previous call; empty = from the start.", pattern=CURSOR, max_length=39),
        ] = None,
    ):
        """While the conversation is with an operator (`state.with_operator`), poll this every few
        seconds: operator replies (`kind: "operator"`) and what the assistant says on its own arrive
        here, in order. Keep the returned `cursor` and pass it as `after`. Same X-Api-Key and
        conversation scoping as POST …/messages."""
        scoped = scoped_conversation_id(key_id, conversation_id)
        start = f"({after}" if after else "-"
        entries = await runtime.redis.xrange(handoff_keys.outbox(scoped), min=start, max="+", count=PAGE)
        replies = [Reply.model_validate_json(fields["reply"]) for _id, fields in entries]
        cursor = entries[-1][0] if entries else (after or "0-0")
        return OutboxPage(replies=replies, cursor=cursor)

    app.include_router(router)
