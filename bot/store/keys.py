"""The one place that decides Redis key names, TTLs and atomic scripts.

Layout (prefix `mb:`):
  conv:{cid}            JSON conversation state (flow, pending question, client)
  conv:{cid}:history    list of JSON turns, newest last, capped
  conv:{cid}:lock       per-conversation mutex (token, PX)
  client:{client_id}    hash: client profile (segment, channel ids)
  events:turns          stream of anonymized turn events (R-21)
  seen:{scope}:{id}     idempotency markers (e.g. Telegram update ids)
"""

from __future__ import annotations

PREFIX = "mb:"

HISTORY_MAX = 500
LOCK_TTL_MS = 30_000
SEEN_TTL_S = 7 * 24 * 3600
EVENTS_MAXLEN = 1_000_000


def conversation(cid: str) -> str:
    return f"{PREFIX}conv:{cid}"


def history(cid: str) -> str:
    return f"{PREFIX}conv:{cid}:history"


def lock(cid: str) -> str:
    return f"{PREFIX}conv:{cid}:lock"


def client(client_id: str) -> str:
    return f"{PREFIX}client:{client_id}"


def events() -> str:
    return f"{PREFIX}events:turns"


def seen(scope: str, item: str) -> str:
    return f"{PREFIX}seen:{scope}:{item}"


# Release a lock only if we still own it (the token matches).
RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
