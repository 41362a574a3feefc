"""Redis key names: the prefix, the core's keys, and the registry every
package's keys go through.

Each package owns its keys in its own `keys.py` (handoff/keys.py,
bot/payments/keys.py, …): a `Keyspace` claims a name (`mb:<name>:…`; one
name, one owner module — a second claim is a start-up error), classifies each
key family by what it holds about a client (`@space.family(ERASE)`: the
eraser in bot/privacy must handle every family that holds client data) and
registers its Lua scripts (`space.script`). A keyspace whose scripts and
transactions touch several of its keys is *tagged*: its names start with
`mb:{<name>}:` — a Redis Cluster hash tag, so each such script runs on one
slot.

A space may instead tag each of its entities (`entity_tagged`): a
conversation's keys are `mb:conv:{<cid>}…`, so the state, the history and
the lock of one conversation share a slot while conversations spread over
the cluster.

The core's keys (prefix `mb:`; the braces of conv are literal hash tags):
  conv:{<cid>}          JSON conversation state (flow, pending question, client)
  conv:{<cid>}:history  list of JSON turns, newest last, capped
  conv:{<cid>}:lock     per-conversation mutex (token, PX)
  client:{client_id}    hash: client profile (segment, channel ids)
  client:{client_id}:conversations  zset: conversation id → last message time
  events:turns          stream of anonymized turn events (R-21)
  seen:{scope}:{id}     idempotency markers (Telegram update ids, API replies)
  rate:{client}:{window}, rate-api-key:{key}:{window}   rate-limit counters
  secret:analytics_salt the key of the anonymous ids in events
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

PREFIX = "mb:"

# What a key family holds about a client, and what erasure of a client
# (bot/privacy/erasure.py) does with it.
ERASE = "erase"  # the client's data: deleted
PSEUDONYMISE = "pseudonymise"  # kept because the law requires it, relinked to the pseudonym
NO_CLIENT_DATA = "none"  # staff, counters, ids: nothing about a client
TRANSIENT = "transient"  # lives seconds and holds only a random token

F = TypeVar("F", bound=Callable[..., str])


class KeyspaceTaken(RuntimeError):
    """Two modules claim one key name."""


class Keyspace:
    def __init__(self, name: str, *, tagged: bool = True, entity_tagged: bool = False):
        owner: str = sys._getframe(1).f_globals.get("__name__", "?")
        if name in SPACES and SPACES[name].owner != owner:
            raise KeyspaceTaken(f"the keyspace {name!r} belongs to {SPACES[name].owner}, not {owner}")
        self.name: str = name
        self.owner: str = owner
        self.prefix = f"{PREFIX}{{{name}}}:" if tagged else f"{PREFIX}{name}:"
        self.entity_tagged = entity_tagged and not tagged
        self.families: dict[str, str] = {}
        self.scripts: dict[str, str] = {}
        SPACES[name] = self

    def family(self, holds: str) -> Callable[[F], F]:
        """Register a key function of this space and what its keys hold about a client."""

        def register(fn: F) -> F:
            if fn.__name__ in FAMILIES and FAMILIES[fn.__name__][0] is not self:
                raise KeyspaceTaken(f"two key families are named {fn.__name__!r}")
            self.families[fn.__name__] = holds
            FAMILIES[fn.__name__] = (self, holds)
            return fn

        return register

    def entity(self, ident: str) -> str:
        """The common start of one entity's keys: `mb:<name>:{<ident>}` in an entity-tagged
        space (Redis Cluster hashes only what is between the braces, so all of them share
        a slot), `mb:<name>:<ident>` otherwise."""
        return f"{self.prefix}{{{ident}}}" if self.entity_tagged else f"{self.prefix}{ident}"

    def entity_of(self, key: str) -> str:
        """The ident an `entity(ident)` key was built from (its own key, without a suffix)."""
        rest = key.removeprefix(self.prefix)
        return rest[1:-1] if self.entity_tagged else rest

    def script(self, name: str, lua: str) -> str:
        """Register a Lua script of this space (its keys only); returns its text for EVAL."""
        SCRIPTS[f"{self.name}.{name}"] = lua
        self.scripts[name] = lua
        return lua


SPACES: dict[str, Keyspace] = {}
FAMILIES: dict[str, tuple[Keyspace, str]] = {}  # key function name → (its space, what it holds)
SCRIPTS: dict[str, str] = {}

CONV = Keyspace("conv", tagged=False, entity_tagged=True)  # state + history in one MULTI
CLIENT = Keyspace("client", tagged=False)
EVENTS = Keyspace("events", tagged=False)
SEEN = Keyspace("seen", tagged=False)
RATE = Keyspace("rate", tagged=False)
API_KEY_RATE = Keyspace("rate-api-key", tagged=False)
SECRET = Keyspace("secret", tagged=False)

HISTORY_MAX = 500
LOCK_TTL_MS = 30_000
SEEN_TTL_S = 7 * 24 * 3600
EVENTS_MAXLEN = 1_000_000
IDEMPOTENCY_TTL_S = 24 * 3600
# A request's claim on its Idempotency-Key while it is processed: longer than a turn can take
# (lock wait + NLU timeout), short enough that a retry after the processing app process was
# killed goes through instead of waiting for a reply that never comes.
IDEMPOTENCY_CLAIM_TTL_S = 45
CLIENT_CONVERSATIONS_MAX = 200
# Turn results kept per conversation for retried requests: a retry comes soon after its request,
# though the client may have sent a few others meanwhile.
RECEIPTS_KEPT = 5


@CONV.family(ERASE)
def conversation(cid: str) -> str:
    return CONV.entity(cid)


@CONV.family(ERASE)
def history(cid: str) -> str:
    return f"{CONV.entity(cid)}:history"


@CONV.family(ERASE)  # the last receipted turns' results, for a retry of their requests (24 h)
def receipts(cid: str) -> str:
    return f"{CONV.entity(cid)}:receipts"


@CONV.family(TRANSIENT)  # a turn's mutex (30 s); the conversation id is in the name only
def lock(cid: str) -> str:
    return f"{CONV.entity(cid)}:lock"


@CLIENT.family(ERASE)
def client(client_id: str) -> str:
    return f"{CLIENT.prefix}{client_id}"


@EVENTS.family(ERASE)  # the client's turns: masked, but masking is statistical, so erased too
def events() -> str:
    return f"{EVENTS.prefix}turns"


@SEEN.family(NO_CLIENT_DATA)  # only through telegram_update / api_response below
def seen(scope: str, item: str) -> str:
    return f"{SEEN.prefix}{scope}:{item}"


@SEEN.family(ERASE)  # stored replies of the client's API conversations (24 h)
def api_response(key_id: str, idempotency_key: str) -> str:
    """The stored reply to an API request sent with an Idempotency-Key."""
    return seen("api", f"{key_id}:{idempotency_key}")


@RATE.family(ERASE)
def rate(client_id: str, window: int) -> str:
    """Messages of one client in one fixed time window."""
    return f"{RATE.prefix}{client_id}:{window}"


@API_KEY_RATE.family(NO_CLIENT_DATA)  # counts per partner key, not per client
def api_key_rate(key_id: str, window: int) -> str:
    """API messages sent with one API key (all its clients) in one fixed time window."""
    return f"{API_KEY_RATE.prefix}{key_id}:{window}"


# INCR and set the window's expiry in one step; returns the count so far.
RATE_HIT = RATE.script(
    "hit",
    """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('expire', KEYS[1], ARGV[1]) end
return n
""",
)


# Release a lock only if we still own it (the token matches).
RELEASE_LOCK = CONV.script(
    "release_lock",
    """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
""",
)


# A cached value in a client's profile hash, written after the transaction that made it
# (the source of truth lives in another slot): only a newer version replaces it, so two
# writers finishing in either order leave the newest. Versions are stream ids "ms-seq".
SET_IF_NEWER = CLIENT.script(
    "set_if_newer",
    """
local cur = redis.call('hget', KEYS[1], ARGV[3])
if cur then
  local cm, cs = string.match(cur, '^(%d+)-(%d+)$')
  local nm, ns = string.match(ARGV[4], '^(%d+)-(%d+)$')
  cm, cs, nm, ns = tonumber(cm), tonumber(cs), tonumber(nm), tonumber(ns)
  if cm > nm or (cm == nm and cs >= ns) then return 0 end
end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
""",
)


# --- Telegram channel (bot/channels/telegram.py) --------------------------
# Update ids are unique per bot, so the bot id is part of the claim.
@SEEN.family(NO_CLIENT_DATA)  # update ids of the bot
def telegram_update(bot_id: int, update_id: int) -> str:
    return seen("tg", f"{bot_id}:{update_id}")


@CLIENT.family(ERASE)
def client_conversations(client_id: str) -> str:
    return f"{CLIENT.prefix}{client_id}:conversations"


@SECRET.family(NO_CLIENT_DATA)
def analytics_salt() -> str:
    return f"{SECRET.prefix}analytics_salt"


@SECRET.family(NO_CLIENT_DATA)
def layout() -> str:
    """The version of the key layout the store holds (bot/store/migrate.py)."""
    return f"{SECRET.prefix}layout"


@SECRET.family(NO_CLIENT_DATA)
def replication_mark() -> str:
    """A counter written right before WAIT (bot/store/durable.py)."""
    return f"{SECRET.prefix}replication-mark"
