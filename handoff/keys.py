"""Redis keys of the operator handoff (handoff/): the queue, the handoff
records, presence, callbacks, the API clients' outbox and the console's
accounts and sessions. Layout:

  {handoff}:conv:<cid>        hash: one conversation's handoff record (status,
                              operator, transfers, reason, times, saved flow)
  {handoff}:queue             zset: waiting conversations, score = priority time
                              (enqueue time minus a segment bonus; lowest first)
  {handoff}:mine:<operator>   set: conversations an operator is handling
  {handoff}:active            zset: conversations with an operator, score = last
                              message either way (for the idle and gone checks)
  {handoff}:presence          hash: operator -> online | away | offline
  {handoff}:heartbeat         zset: operator -> last heartbeat (unix seconds)
  {handoff}:stats:<yyyymmdd>  hash: counters of the day (requested, claimed …)
  {handoff}:ratings           stream: anonymized ratings after a handoff (R-14)
  {handoff}:events            pub/sub channel: console live updates
  {handoff}:callback:<id>     hash: a booked callback (phone, slot, status)
  {handoff}:callbacks         zset: callback ids by slot time
  {handoff}:slot:<epoch>      counter: callbacks booked into one slot
  outbox:<cid>                stream: messages for API clients to poll
  {console}:user:<name>       hash: operator console account
  {console}:session:<hmac>    hash: a signed-in console session (user, csrf)
  {console}:user_sessions:<name>  set: that user's session ids
  {console}:login_failures:…  counters of sign-in attempts per account / address

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag)
"""

from __future__ import annotations

from bot.store.keys import ERASE, NO_CLIENT_DATA, TRANSIENT, Keyspace

HANDOFF = Keyspace("handoff")
OUTBOX = Keyspace("outbox", tagged=False)
CONSOLE = Keyspace("console")


OUTBOX_MAXLEN = 1000
OUTBOX_TTL_S = 7 * 24 * 3600
CALLBACK_TTL_S = 90 * 24 * 3600
RATINGS_MAXLEN = 1_000_000


@HANDOFF.family(ERASE)
def handoff(cid: str) -> str:
    return f"{HANDOFF.prefix}conv:{cid}"


@HANDOFF.family(NO_CLIENT_DATA)
def handoff_prefix() -> str:
    """For Lua scripts that derive a record key from a queue member."""
    return f"{HANDOFF.prefix}conv:"


@HANDOFF.family(ERASE)
def handoff_queue() -> str:
    return f"{HANDOFF.prefix}queue"


@HANDOFF.family(ERASE)
def handoff_mine(operator: str) -> str:
    return f"{HANDOFF.prefix}mine:{operator}"


@HANDOFF.family(ERASE)
def handoff_active() -> str:
    return f"{HANDOFF.prefix}active"


@HANDOFF.family(NO_CLIENT_DATA)
def handoff_presence() -> str:
    return f"{HANDOFF.prefix}presence"


@HANDOFF.family(NO_CLIENT_DATA)
def handoff_heartbeat() -> str:
    return f"{HANDOFF.prefix}heartbeat"


@HANDOFF.family(NO_CLIENT_DATA)
def handoff_stats(day: str) -> str:
    return f"{HANDOFF.prefix}stats:{day}"


@HANDOFF.family(NO_CLIENT_DATA)  # anonymized: channel, marks, operator
def handoff_ratings() -> str:
    return f"{HANDOFF.prefix}ratings"


@HANDOFF.family(TRANSIENT)  # pub/sub: nothing is stored
def handoff_events() -> str:
    return f"{HANDOFF.prefix}events"


@HANDOFF.family(ERASE)
def callback(callback_id: str) -> str:
    return f"{HANDOFF.prefix}callback:{callback_id}"


@HANDOFF.family(ERASE)
def callbacks() -> str:
    return f"{HANDOFF.prefix}callbacks"


@HANDOFF.family(NO_CLIENT_DATA)  # a counter; erasure gives a cancelled callback's place back
def callback_slot(epoch: int) -> str:
    return f"{HANDOFF.prefix}slot:{epoch}"


@OUTBOX.family(ERASE)
def outbox(cid: str) -> str:
    return f"{OUTBOX.prefix}{cid}"


@CONSOLE.family(NO_CLIENT_DATA)
def console_user(name: str) -> str:
    return f"{CONSOLE.prefix}user:{name}"


@CONSOLE.family(NO_CLIENT_DATA)
def console_users() -> str:
    return f"{CONSOLE.prefix}users"


@CONSOLE.family(NO_CLIENT_DATA)
def console_account_failures(name: str) -> str:
    """Failed console sign-ins to one account (name as stored: lower case)."""
    return f"{CONSOLE.prefix}login_failures:user:{name}"


@CONSOLE.family(NO_CLIENT_DATA)
def console_address_failures(address: str) -> str:
    """Failed console sign-ins from one client address."""
    return f"{CONSOLE.prefix}login_failures:ip:{address}"


@CONSOLE.family(NO_CLIENT_DATA)
def console_session(session_id: str) -> str:
    """One console session: user and CSRF token; `session_id` is a keyed hash of the cookie."""
    return f"{CONSOLE.prefix}session:{session_id}"


@CONSOLE.family(NO_CLIENT_DATA)
def console_user_sessions(name: str) -> str:
    """The ids of one user's sessions, to end them all at once."""
    return f"{CONSOLE.prefix}user_sessions:{name}"


# Admit a console sign-in attempt and count it BEFORE its password is checked,
# in one step, so parallel guesses cannot all slip in between a check and a
# count. KEYS: account counter, address counter. ARGV: window seconds, account
# limit, address limit. Returns 0 when the attempt is admitted (and counted),
# else the seconds to wait (a refused attempt is not counted). The caller
# gives an admitted attempt back when its password was right (LOGIN_SUCCEEDED).
LOGIN_ATTEMPT = CONSOLE.script(
    "login_attempt",
    """
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('get', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('ttl', key)
    if ttl < 1 then ttl = tonumber(ARGV[1]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('incr', key) == 1 then redis.call('expire', key, ARGV[1]) end
end
return 0
""",
)


LOGIN_SUCCEEDED = CONSOLE.script(
    "login_succeeded",
    """
redis.call('del', KEYS[1])
if tonumber(redis.call('get', KEYS[2]) or '0') > 0 then redis.call('decr', KEYS[2]) end
return 1
""",
)


# Put a conversation in the queue unless it is already waiting or with an
# operator. KEYS: record, queue. ARGV: cid, score, now, then field/value pairs.
HANDOFF_ENQUEUE = HANDOFF.script(
    "handoff_enqueue",
    """
local status = redis.call('hget', KEYS[1], 'status')
if status == 'waiting' or status == 'with_operator' then return 0 end
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], 'status', 'waiting', 'enqueued_at', ARGV[3], 'transfers', 0)
for i = 4, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
""",
)


# Claim one waiting conversation (ARGV[1] = cid) or, with ARGV[1] == '', the
# one first in line. Removing it from the queue is the claim: exactly one
# operator succeeds. KEYS: queue. ARGV: cid or '', operator, now, record key
# prefix, "mine" key of the operator, the "active" key. Returns the cid or false.
HANDOFF_CLAIM = HANDOFF.script(
    "handoff_claim",
    """
local cid = ARGV[1]
if cid == '' then
  local first = redis.call('zrange', KEYS[1], 0, 0)
  if #first == 0 then return false end
  cid = first[1]
end
if redis.call('zrem', KEYS[1], cid) == 0 then return false end
local record = ARGV[4] .. cid
if redis.call('hget', record, 'status') ~= 'waiting' then return false end
redis.call('hset', record, 'status', 'with_operator', 'operator', ARGV[2], 'claimed_at', ARGV[3])
redis.call('sadd', ARGV[5], cid)
redis.call('zadd', ARGV[6], ARGV[3], cid)
return cid
""",
)


# The client cancels waiting; loses to a claim that happened first.
# KEYS: record, queue. ARGV: cid, now.
HANDOFF_CANCEL = HANDOFF.script(
    "handoff_cancel",
    """
if redis.call('hget', KEYS[1], 'status') ~= 'waiting' then return 0 end
redis.call('zrem', KEYS[2], ARGV[1])
redis.call('hset', KEYS[1], 'status', 'bot', 'cancelled_at', ARGV[2])
return 1
""",
)


# Transfer to another operator (ARGV[3] = name) or back to the queue
# (ARGV[3] == ''), at most ARGV[4] times per handoff; ARGV[6] == '1' counts it
# as a transfer (a return to the queue because the operator left does not).
# KEYS: record, queue, mine of the current operator, mine of the target, active.
# ARGV: cid, current operator, target, max transfers, now, count.
# Returns 1 done, -1 not this operator's conversation, -2 limit reached.
HANDOFF_TRANSFER = HANDOFF.script(
    "handoff_transfer",
    """
if redis.call('hget', KEYS[1], 'status') ~= 'with_operator'
   or redis.call('hget', KEYS[1], 'operator') ~= ARGV[2] then return -1 end
local transfers = tonumber(redis.call('hget', KEYS[1], 'transfers') or '0')
if ARGV[6] == '1' then
  if transfers >= tonumber(ARGV[4]) then return -2 end
  redis.call('hset', KEYS[1], 'transfers', transfers + 1)
end
redis.call('srem', KEYS[3], ARGV[1])
redis.call('hset', KEYS[1], 'transferred_at', ARGV[5])
if ARGV[3] == '' then
  redis.call('hset', KEYS[1], 'status', 'waiting', 'operator', '')
  redis.call('zadd', KEYS[2], redis.call('hget', KEYS[1], 'priority'), ARGV[1])
  redis.call('zrem', KEYS[5], ARGV[1])
else
  redis.call('hset', KEYS[1], 'operator', ARGV[3])
  redis.call('sadd', KEYS[4], ARGV[1])
  redis.call('zadd', KEYS[5], ARGV[5], ARGV[1])
end
return 1
""",
)


# The operator (or a supervisor on their behalf) finishes.
# KEYS: record, mine, active. ARGV: cid, operator, now.
HANDOFF_RESOLVE = HANDOFF.script(
    "handoff_resolve",
    """
if redis.call('hget', KEYS[1], 'status') ~= 'with_operator'
   or redis.call('hget', KEYS[1], 'operator') ~= ARGV[2] then return 0 end
redis.call('hset', KEYS[1], 'status', 'resolved', 'resolved_at', ARGV[3])
redis.call('srem', KEYS[2], ARGV[1])
redis.call('zrem', KEYS[3], ARGV[1])
return 1
""",
)


# Offer a waiting client a callback at most once per timeout period.
# KEYS: record. ARGV: now, offer only if the last offer/enqueue is before this.
HANDOFF_MARK_OFFERED = HANDOFF.script(
    "handoff_mark_offered",
    """
if redis.call('hget', KEYS[1], 'status') ~= 'waiting' then return 0 end
local last = math.max(tonumber(redis.call('hget', KEYS[1], 'enqueued_at') or '0'),
                      tonumber(redis.call('hget', KEYS[1], 'offered_at') or '0'))
if last > tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[1], 'offered_at', ARGV[1])
return 1
""",
)


# Book one place in a callback slot if it is not full. KEYS: slot counter.
# ARGV: capacity, ttl seconds. Returns the new count or 0 when full.
CALLBACK_BOOK_SLOT = HANDOFF.script(
    "callback_book_slot",
    """
local n = tonumber(redis.call('get', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
n = redis.call('incr', KEYS[1])
redis.call('expire', KEYS[1], ARGV[2])
return n
""",
)


# (the key of the pseudonyms lives outside Redis: bot/privacy/pseudonym.py)
# Erasure cancels a booked callback and frees its place in the same step.
@HANDOFF.family(NO_CLIENT_DATA)
def callback_slot_prefix() -> str:
    """`<prefix><epoch>` is a callback slot counter; Lua builds it from a callback's slot."""
    return f"{HANDOFF.prefix}slot:"


# Remove one callback; a booked one gives its place back. KEYS: callback hash,
# callbacks zset. ARGV: callback id, slot counter prefix. Returns the status it had.
CALLBACK_REMOVE = HANDOFF.script(
    "callback_remove",
    """
local status = redis.call('hget', KEYS[1], 'status') or ''
if status == 'booked' then
  local slot = ARGV[2] .. (redis.call('hget', KEYS[1], 'slot') or '')
  if tonumber(redis.call('get', slot) or '0') > 0 then redis.call('decr', slot) end
end
redis.call('del', KEYS[1])
redis.call('zrem', KEYS[2], ARGV[1])
return status
""",
)
