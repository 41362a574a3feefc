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


def api_response(key_id: str, idempotency_key: str) -> str:
    """The stored reply to an API request sent with an Idempotency-Key."""
    return seen("api", f"{key_id}:{idempotency_key}")


IDEMPOTENCY_TTL_S = 24 * 3600


def rate(client_id: str, window: int) -> str:
    """Messages of one client in one fixed time window."""
    return f"{PREFIX}rate:{client_id}:{window}"


def api_key_rate(key_id: str, window: int) -> str:
    """API messages sent with one API key (all its clients) in one fixed time window."""
    return f"{PREFIX}rate-api-key:{key_id}:{window}"


# INCR and set the window's expiry in one step; returns the count so far.
RATE_HIT = """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('expire', KEYS[1], ARGV[1]) end
return n
"""


# Release a lock only if we still own it (the token matches).
RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


# ---------------------------------------------------------------------------
# Handoff to human operators (handoff/, issue 4). Layout:
#   handoff:conv:{cid}        hash: one conversation's handoff record (status,
#                             operator, transfers, reason, times, saved flow)
#   handoff:queue             zset: waiting conversations, score = priority time
#                             (enqueue time minus a segment bonus; lowest first)
#   handoff:mine:{operator}   set: conversations an operator is handling
#   handoff:active            zset: conversations with an operator, score = last
#                             message either way (for the idle and gone checks)
#   handoff:presence          hash: operator -> online | away | offline
#   handoff:heartbeat         zset: operator -> last heartbeat (unix seconds)
#   handoff:stats:{yyyymmdd}  hash: counters of the day (requested, claimed …)
#   handoff:ratings           stream: anonymized ratings after a handoff
#   handoff:events            pub/sub channel: console live updates
#   handoff:callback:{id}     hash: a booked callback (phone, slot, status)
#   handoff:callbacks         zset: callback ids by slot time
#   handoff:slot:{epoch}      counter: callbacks booked into one slot
#   outbox:{cid}              stream: messages for API clients to poll
#   console:user:{name}       hash: operator console account
#   console:session:{hmac}    hash: a signed-in console session (user, csrf)
#   console:user_sessions:{name} set: that user's session ids
# ---------------------------------------------------------------------------

OUTBOX_MAXLEN = 1000
OUTBOX_TTL_S = 7 * 24 * 3600
CALLBACK_TTL_S = 90 * 24 * 3600
RATINGS_MAXLEN = 1_000_000


def handoff(cid: str) -> str:
    return f"{PREFIX}handoff:conv:{cid}"


def handoff_prefix() -> str:
    """For Lua scripts that derive a record key from a queue member."""
    return f"{PREFIX}handoff:conv:"


def handoff_queue() -> str:
    return f"{PREFIX}handoff:queue"


def handoff_mine(operator: str) -> str:
    return f"{PREFIX}handoff:mine:{operator}"


def handoff_active() -> str:
    return f"{PREFIX}handoff:active"


def handoff_presence() -> str:
    return f"{PREFIX}handoff:presence"


def handoff_heartbeat() -> str:
    return f"{PREFIX}handoff:heartbeat"


def handoff_stats(day: str) -> str:
    return f"{PREFIX}handoff:stats:{day}"


def handoff_ratings() -> str:
    return f"{PREFIX}handoff:ratings"


def handoff_events() -> str:
    return f"{PREFIX}handoff:events"


def callback(callback_id: str) -> str:
    return f"{PREFIX}handoff:callback:{callback_id}"


def callbacks() -> str:
    return f"{PREFIX}handoff:callbacks"


def callback_slot(epoch: int) -> str:
    return f"{PREFIX}handoff:slot:{epoch}"


def outbox(cid: str) -> str:
    return f"{PREFIX}outbox:{cid}"


def console_user(name: str) -> str:
    return f"{PREFIX}console:user:{name}"


def console_users() -> str:
    return f"{PREFIX}console:users"


def console_account_failures(name: str) -> str:
    """Failed console sign-ins to one account (name as stored: lower case)."""
    return f"{PREFIX}console:login_failures:user:{name}"


def console_address_failures(address: str) -> str:
    """Failed console sign-ins from one client address."""
    return f"{PREFIX}console:login_failures:ip:{address}"


def console_session(session_id: str) -> str:
    """One console session: user and CSRF token; `session_id` is a keyed hash of the cookie."""
    return f"{PREFIX}console:session:{session_id}"


def console_user_sessions(name: str) -> str:
    """The ids of one user's sessions, to end them all at once."""
    return f"{PREFIX}console:user_sessions:{name}"


# Admit a console sign-in attempt and count it BEFORE its password is checked,
# in one step, so parallel guesses cannot all slip in between a check and a
# count. KEYS: account counter, address counter. ARGV: window seconds, account
# limit, address limit. Returns 0 when the attempt is admitted (and counted),
# else the seconds to wait (a refused attempt is not counted). The caller
# gives an admitted attempt back when its password was right (LOGIN_SUCCEEDED).
LOGIN_ATTEMPT = """
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
"""

LOGIN_SUCCEEDED = """
redis.call('del', KEYS[1])
if tonumber(redis.call('get', KEYS[2]) or '0') > 0 then redis.call('decr', KEYS[2]) end
return 1
"""


# Put a conversation in the queue unless it is already waiting or with an
# operator. KEYS: record, queue. ARGV: cid, score, now, then field/value pairs.
HANDOFF_ENQUEUE = """
local status = redis.call('hget', KEYS[1], 'status')
if status == 'waiting' or status == 'with_operator' then return 0 end
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], 'status', 'waiting', 'enqueued_at', ARGV[3], 'transfers', 0)
for i = 4, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# Claim one waiting conversation (ARGV[1] = cid) or, with ARGV[1] == '', the
# one first in line. Removing it from the queue is the claim: exactly one
# operator succeeds. KEYS: queue. ARGV: cid or '', operator, now, record key
# prefix, "mine" key of the operator, the "active" key. Returns the cid or false.
HANDOFF_CLAIM = """
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
"""

# The client cancels waiting; loses to a claim that happened first.
# KEYS: record, queue. ARGV: cid, now.
HANDOFF_CANCEL = """
if redis.call('hget', KEYS[1], 'status') ~= 'waiting' then return 0 end
redis.call('zrem', KEYS[2], ARGV[1])
redis.call('hset', KEYS[1], 'status', 'bot', 'cancelled_at', ARGV[2])
return 1
"""

# Transfer to another operator (ARGV[3] = name) or back to the queue
# (ARGV[3] == ''), at most ARGV[4] times per handoff; ARGV[6] == '1' counts it
# as a transfer (a return to the queue because the operator left does not).
# KEYS: record, queue, mine of the current operator, mine of the target, active.
# ARGV: cid, current operator, target, max transfers, now, count.
# Returns 1 done, -1 not this operator's conversation, -2 limit reached.
HANDOFF_TRANSFER = """
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
"""

# The operator (or a supervisor on their behalf) finishes.
# KEYS: record, mine, active. ARGV: cid, operator, now.
HANDOFF_RESOLVE = """
if redis.call('hget', KEYS[1], 'status') ~= 'with_operator'
   or redis.call('hget', KEYS[1], 'operator') ~= ARGV[2] then return 0 end
redis.call('hset', KEYS[1], 'status', 'resolved', 'resolved_at', ARGV[3])
redis.call('srem', KEYS[2], ARGV[1])
redis.call('zrem', KEYS[3], ARGV[1])
return 1
"""

# Offer a waiting client a callback at most once per timeout period.
# KEYS: record. ARGV: now, offer only if the last offer/enqueue is before this.
HANDOFF_MARK_OFFERED = """
if redis.call('hget', KEYS[1], 'status') ~= 'waiting' then return 0 end
local last = math.max(tonumber(redis.call('hget', KEYS[1], 'enqueued_at') or '0'),
                      tonumber(redis.call('hget', KEYS[1], 'offered_at') or '0'))
if last > tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[1], 'offered_at', ARGV[1])
return 1
"""

# Book one place in a callback slot if it is not full. KEYS: slot counter.
# ARGV: capacity, ttl seconds. Returns the new count or 0 when full.
CALLBACK_BOOK_SLOT = """
local n = tonumber(redis.call('get', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
n = redis.call('incr', KEYS[1])
redis.call('expire', KEYS[1], ARGV[2])
return n
"""


# ---------------------------------------------------------------- payments
# Owned by bot/payments (issue 6). An order is a JSON document; status
# changes go through bot.payments.orders (optimistic WATCH/MULTI), so the
# transition table stays in one place.
#   pay:order:{order_id}            JSON payment order (accrual, status, attempts)
#   pay:create:{idempotency_key}    order id created for that key (create-once)
#   pay:client:{client_id}          zset of the client's order ids by creation time
#   pay:pending                     zset of open orders (created/pending) for reconciliation
#   pay:provider:{name}:{pay_id}    order id of a provider's payment (webhook lookup)
#   pay:uin:seq                     counter for the accrual-number part of a УИН
#   pay:uin:{uin}                   order id of a УИН we issued
PAYMENT_CREATE_TTL_S = 7 * 24 * 3600


def payment_order(order_id: str) -> str:
    return f"{PREFIX}pay:order:{order_id}"


def payment_create(idempotency_key: str) -> str:
    return f"{PREFIX}pay:create:{idempotency_key}"


def payment_client(client_id: str) -> str:
    return f"{PREFIX}pay:client:{client_id}"


def payments_pending() -> str:
    return f"{PREFIX}pay:pending"


def payment_provider(provider: str, payment_id: str) -> str:
    return f"{PREFIX}pay:provider:{provider}:{payment_id}"


def payment_uin_sequence() -> str:
    return f"{PREFIX}pay:uin:seq"


def payment_uin(uin: str) -> str:
    return f"{PREFIX}pay:uin:{uin}"


# Create an order once per idempotency key: KEYS = [create key, order key,
# client zset, open-orders zset, uin key]; ARGV = [order id, order json, created ts, ttl].
# Returns the id of the order that owns the key (ours or an earlier one).
CREATE_PAYMENT_ONCE = """
local existing = redis.call('get', KEYS[1])
if existing then
  return existing
end
redis.call('set', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[4]))
redis.call('set', KEYS[2], ARGV[2])
redis.call('zadd', KEYS[3], tonumber(ARGV[3]), ARGV[1])
redis.call('zadd', KEYS[4], tonumber(ARGV[3]), ARGV[1])
redis.call('set', KEYS[5], ARGV[1])
return ARGV[1]
"""


# --- Telegram channel (bot/channels/telegram.py) --------------------------
# Update ids are unique per bot, so the bot id is part of the claim.
def telegram_update(bot_id: int, update_id: int) -> str:
    return seen("tg", f"{bot_id}:{update_id}")


# ---------------------------------------------------------------- consent (bot/consent)
# consent:{client}:ledger   stream: the client's consent ledger (append-only)
# consent:audit             stream: every consent record of every client (auditor)
# consent:clients           set: clients with at least one ledger record
# client:{client}:addresses hash: channel → last conversation id (for proactive sends)
# notify:queue              stream (group `senders`): notification ids to deliver
# notify:n:{nid}            hash: one notification (client, category, text, basis, status)
# notify:scheduled          zset: nid → due time (quiet hours, retries)
# notify:digest:{client}    set: nids waiting for the client's digest
# notify:digest_due         zset: client → time of the next digest
# notify:deliveries         stream: delivery log (sent / skipped / failed)
# campaign:{id}             JSON campaign definition; campaigns: zset id → created
NOTIFY_GROUP = "senders"
NOTIFICATION_TTL_S = 180 * 24 * 3600  # idempotency window of a (campaign, client) pair
DELIVERIES_MAXLEN = 1_000_000


def consent_ledger(client_id: str) -> str:
    return f"{PREFIX}consent:{client_id}:ledger"


def consent_audit() -> str:
    return f"{PREFIX}consent:audit"


def consent_clients() -> str:
    return f"{PREFIX}consent:clients"


def client_addresses(client_id: str) -> str:
    return f"{PREFIX}client:{client_id}:addresses"


def notify_queue() -> str:
    return f"{PREFIX}notify:queue"


def notification(nid: str) -> str:
    return f"{PREFIX}notify:n:{nid}"


def notify_scheduled() -> str:
    return f"{PREFIX}notify:scheduled"


def notify_digest(client_id: str) -> str:
    return f"{PREFIX}notify:digest:{client_id}"


def notify_digest_due() -> str:
    return f"{PREFIX}notify:digest_due"


def notify_deliveries() -> str:
    return f"{PREFIX}notify:deliveries"


def campaign(campaign_id: str) -> str:
    return f"{PREFIX}campaign:{campaign_id}"


def campaigns() -> str:
    return f"{PREFIX}campaigns"


# Enqueue a notification once per idempotency key: the item hash is created
# only if absent, and the queue entry is added in the same atomic step.
# KEYS: item hash, queue stream. ARGV: nid, ttl, field, value, field, value …
ENQUEUE_NOTIFICATION = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('expire', KEYS[1], tonumber(ARGV[2]))
redis.call('xadd', KEYS[2], '*', 'nid', ARGV[1])
return 1
"""

# Claim a notification for sending: only from one of the given statuses, so
# two workers (or a redelivered queue entry) never send it twice.
# KEYS: item hash. ARGV: new status, allowed status …  Returns 1 or the status.
CLAIM_NOTIFICATION = """
local status = redis.call('hget', KEYS[1], 'status')
if not status then return 'missing' end
for i = 2, #ARGV do
  if status == ARGV[i] then redis.call('hset', KEYS[1], 'status', ARGV[1]); return 1 end
end
return status
"""

# Move up to ARGV[2] members of a zset whose time (score) has come to the
# queue stream, atomically (no entry lost or doubled between the two).
# KEYS: zset, queue stream. ARGV: now, limit, stream field name.
RELEASE_DUE = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('zrem', KEYS[1], member)
  redis.call('xadd', KEYS[2], '*', ARGV[3], member)
end
return #due
"""

# Take all notifications waiting in a client's digest (read and clear at once).
TAKE_DIGEST = """
local ids = redis.call('smembers', KEYS[1])
redis.call('del', KEYS[1])
return ids
"""


# --- Voice channel (issue 7) --------------------------------------------------
#   voice:callbacks       stream of callback requests made by phone (DefaultDesk,
#                         until the handoff module's callback queue takes over)
VOICE_CALLBACKS_MAXLEN = 10_000


def voice_callbacks() -> str:
    return f"{PREFIX}voice:callbacks"


# --- Appointments (bot/booking, R-11) and interaction history (bot/history.py, R-15)
#   booking:appt:{id}            hash: one appointment (client, topic, slot, status, times)
#   booking:client:{client_id}   zset: the client's appointment ids by slot time
#   booking:all                  zset: every appointment id by slot time (staff listing)
#   booking:slot:{topic}:{epoch} set: appointment ids holding a place in one slot
#   booking:reminders            zset: appointment id → when its reminder is due
#   client:{client_id}:conversations  zset: conversation id → last message time
BOOKING_TTL_S = 365 * 24 * 3600
CLIENT_CONVERSATIONS_MAX = 200


def appointment(appointment_id: str) -> str:
    return f"{PREFIX}booking:appt:{appointment_id}"


def appointment_prefix() -> str:
    """For Lua scripts that derive a record key from an id."""
    return f"{PREFIX}booking:appt:"


def client_appointments(client_id: str) -> str:
    return f"{PREFIX}booking:client:{client_id}"


def appointments_all() -> str:
    return f"{PREFIX}booking:all"


def appointment_slot(topic: str, epoch: int) -> str:
    return f"{PREFIX}booking:slot:{topic}:{epoch}"


def appointment_slot_prefix() -> str:
    """`<prefix><topic>:<epoch>` is a slot key; Lua builds the old slot's key from the record."""
    return f"{PREFIX}booking:slot:"


def appointment_reminders() -> str:
    return f"{PREFIX}booking:reminders"


def client_conversations(client_id: str) -> str:
    return f"{PREFIX}client:{client_id}:conversations"


# Take one place in a slot if one is free, and save the appointment in the
# same step: two clients never get the last place.
# KEYS: slot set, record, client zset, all zset, reminders zset.
# ARGV: capacity, id, slot epoch, reminder due ('' = none), ttl, field, value …
# Returns 1 booked, 0 the slot is full.
BOOK_APPOINTMENT = """
if redis.call('scard', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('sadd', KEYS[1], ARGV[2])
redis.call('expire', KEYS[1], tonumber(ARGV[5]))
for i = 6, #ARGV, 2 do redis.call('hset', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('expire', KEYS[2], tonumber(ARGV[5]))
redis.call('zadd', KEYS[3], tonumber(ARGV[3]), ARGV[2])
redis.call('zadd', KEYS[4], tonumber(ARGV[3]), ARGV[2])
if ARGV[4] ~= '' then redis.call('zadd', KEYS[5], tonumber(ARGV[4]), ARGV[2]) end
return 1
"""

# Move a booked appointment to another slot of its topic: take the new place
# and free the old one at once (the old place is never lost, nor held twice).
# KEYS: new slot set, record, client zset, all zset, reminders zset.
# ARGV: capacity, id, new epoch, reminder due ('' = none), ttl, slot key prefix,
#       client id, now.
# Returns 1 moved, 0 the new slot is full, -1 not a booked appointment of this
# client, -2 it is already in that slot.
MOVE_APPOINTMENT = """
if redis.call('hget', KEYS[2], 'status') ~= 'booked'
   or redis.call('hget', KEYS[2], 'client_id') ~= ARGV[7] then return -1 end
local old = redis.call('hget', KEYS[2], 'slot')
if old == ARGV[3] then return -2 end
if redis.call('scard', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('sadd', KEYS[1], ARGV[2])
redis.call('expire', KEYS[1], tonumber(ARGV[5]))
redis.call('srem', ARGV[6] .. redis.call('hget', KEYS[2], 'topic') .. ':' .. old, ARGV[2])
redis.call('hset', KEYS[2], 'slot', ARGV[3], 'moved_from', old, 'moved_at', ARGV[8])
redis.call('zadd', KEYS[3], tonumber(ARGV[3]), ARGV[2])
redis.call('zadd', KEYS[4], tonumber(ARGV[3]), ARGV[2])
if ARGV[4] ~= '' then redis.call('zadd', KEYS[5], tonumber(ARGV[4]), ARGV[2])
else redis.call('zrem', KEYS[5], ARGV[2]) end
return 1
"""

# Cancel a booked appointment: free its place and drop its reminder.
# KEYS: record, reminders zset. ARGV: id, slot key prefix, client id, now.
# Returns 1 cancelled, -1 not a booked appointment of this client.
CANCEL_APPOINTMENT = """
if redis.call('hget', KEYS[1], 'status') ~= 'booked'
   or redis.call('hget', KEYS[1], 'client_id') ~= ARGV[3] then return -1 end
local slot = ARGV[2] .. redis.call('hget', KEYS[1], 'topic') .. ':' .. redis.call('hget', KEYS[1], 'slot')
redis.call('srem', slot, ARGV[1])
redis.call('hset', KEYS[1], 'status', 'cancelled', 'cancelled_at', ARGV[4])
redis.call('zrem', KEYS[2], ARGV[1])
return 1
"""

# Take the reminders that are due (remove them from the zset in the same step,
# so two workers never both send one). KEYS: reminders zset. ARGV: now, limit.
TAKE_DUE_REMINDERS = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('zrem', KEYS[1], member) end
return due
"""


# ------------------------------------------------------ applications (bot/applications, R-9 / R-10)
#   app:{number}                   JSON application (form, answers, status, status history)
#   app:client:{client_id}         zset: the client's application numbers by submission time
#   app:all                        zset: every application number by submission time (staff lists)
#   app:seq:{year}                 counter behind the number МБ-{year}-NNNNNN
#   app:create:{submit key}        number created for one submission (submit-once)
#   app:draft:{client_id}:{form}   JSON unfinished form (answers so far); expires
APP_CREATE_TTL_S = 30 * 24 * 3600


def application(number: str) -> str:
    return f"{PREFIX}app:{number}"


def application_client(client_id: str) -> str:
    return f"{PREFIX}app:client:{client_id}"


def applications_all() -> str:
    return f"{PREFIX}app:all"


def application_sequence(year: int) -> str:
    return f"{PREFIX}app:seq:{year}"


def application_create(submit_key: str) -> str:
    return f"{PREFIX}app:create:{submit_key}"


def application_draft(client_id: str, form_id: str) -> str:
    return f"{PREFIX}app:draft:{client_id}:{form_id}"


# Store a new application once per submission key. KEYS: create key,
# application key, client zset, all zset, draft key. ARGV: number, json,
# created ts, create-key ttl. Returns the number owning the key (ours or earlier).
CREATE_APPLICATION_ONCE = """
local existing = redis.call('get', KEYS[1])
if existing then return existing end
redis.call('set', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[4]))
redis.call('set', KEYS[2], ARGV[2])
redis.call('zadd', KEYS[3], tonumber(ARGV[3]), ARGV[1])
redis.call('zadd', KEYS[4], tonumber(ARGV[3]), ARGV[1])
redis.call('del', KEYS[5])
return ARGV[1]
"""


# ------------------------------------------------ privacy (bot/privacy, R-7 / R-22 / R-23)
# (the key of the pseudonyms lives outside Redis: bot/privacy/pseudonym.py)
# Erasure cancels a booked callback and frees its place in the same step.
def callback_slot_prefix() -> str:
    """`<prefix><epoch>` is a callback slot counter; Lua builds it from a callback's slot."""
    return f"{PREFIX}handoff:slot:"


# Remove one callback; a booked one gives its place back. KEYS: callback hash,
# callbacks zset. ARGV: callback id, slot counter prefix. Returns the status it had.
CALLBACK_REMOVE = """
local status = redis.call('hget', KEYS[1], 'status') or ''
if status == 'booked' then
  local slot = ARGV[2] .. (redis.call('hget', KEYS[1], 'slot') or '')
  if tonumber(redis.call('get', slot) or '0') > 0 then redis.call('decr', slot) end
end
redis.call('del', KEYS[1])
redis.call('zrem', KEYS[2], ARGV[1])
return status
"""

# What every key family above holds about a client, and what erasure of a
# client (bot/privacy/erasure.py) does with it. tests/test_privacy_keys.py fails
# when a key function is added here without a line below, and when a family
# marked ERASE / PSEUDONYMISE is not handled by the eraser.
ERASE = "erase"  # the client's data: deleted
PSEUDONYMISE = "pseudonymise"  # kept because the law requires it, relinked to the pseudonym
NO_CLIENT_DATA = "none"  # staff, counters, ids: nothing about a client
TRANSIENT = "transient"  # lives seconds and holds only a random token

CLIENT_DATA: dict[str, str] = {
    "conversation": ERASE,
    "history": ERASE,
    "lock": TRANSIENT,  # a turn's mutex (30 s); the conversation id is in the name only
    "client": ERASE,
    "events": ERASE,  # the client's turns: masked, but masking is statistical, so erased too
    "seen": NO_CLIENT_DATA,  # only through telegram_update / api_response below
    "api_response": ERASE,  # stored replies of the client's API conversations (24 h)
    "rate": ERASE,
    "api_key_rate": NO_CLIENT_DATA,  # counts per partner key, not per client
    "handoff": ERASE,
    "handoff_prefix": NO_CLIENT_DATA,
    "handoff_queue": ERASE,
    "handoff_mine": ERASE,
    "handoff_active": ERASE,
    "handoff_presence": NO_CLIENT_DATA,
    "handoff_heartbeat": NO_CLIENT_DATA,
    "handoff_stats": NO_CLIENT_DATA,
    "handoff_ratings": NO_CLIENT_DATA,  # anonymized: channel, marks, operator
    "handoff_events": TRANSIENT,  # pub/sub: nothing is stored
    "callback": ERASE,
    "callbacks": ERASE,
    "callback_slot": NO_CLIENT_DATA,  # a counter; erasure gives a cancelled callback's place back
    "callback_slot_prefix": NO_CLIENT_DATA,
    "outbox": ERASE,
    "console_user": NO_CLIENT_DATA,
    "console_users": NO_CLIENT_DATA,
    "console_account_failures": NO_CLIENT_DATA,
    "console_address_failures": NO_CLIENT_DATA,
    "console_session": NO_CLIENT_DATA,
    "console_user_sessions": NO_CLIENT_DATA,
    "payment_order": PSEUDONYMISE,  # accounting records (402-ФЗ): kept, relinked
    "payment_create": ERASE,  # create-once marker named by the conversation id
    "payment_client": PSEUDONYMISE,
    "payments_pending": NO_CLIENT_DATA,
    "payment_provider": NO_CLIENT_DATA,
    "payment_uin_sequence": NO_CLIENT_DATA,
    "payment_uin": NO_CLIENT_DATA,
    "telegram_update": NO_CLIENT_DATA,  # update ids of the bot
    "consent_ledger": PSEUDONYMISE,  # proof of consent (152-ФЗ art. 9 part 3)
    "consent_audit": PSEUDONYMISE,
    "consent_clients": PSEUDONYMISE,
    "client_addresses": ERASE,
    "notify_queue": NO_CLIENT_DATA,  # notification ids only
    "notification": ERASE,
    "notify_scheduled": ERASE,
    "notify_digest": ERASE,
    "notify_digest_due": ERASE,
    "notify_deliveries": ERASE,
    "campaign": NO_CLIENT_DATA,
    "campaigns": NO_CLIENT_DATA,
    "voice_callbacks": ERASE,
    "appointment": ERASE,
    "appointment_prefix": NO_CLIENT_DATA,
    "client_appointments": ERASE,
    "appointments_all": ERASE,
    "appointment_slot": NO_CLIENT_DATA,  # appointment ids; erasure cancels through the booking service
    "appointment_slot_prefix": NO_CLIENT_DATA,
    "appointment_reminders": ERASE,
    "client_conversations": ERASE,
    "application": PSEUDONYMISE,  # submitted applications: kept without contacts, relinked
    "application_client": PSEUDONYMISE,
    "applications_all": NO_CLIENT_DATA,  # application numbers
    "application_sequence": NO_CLIENT_DATA,
    "application_create": ERASE,  # submit-once marker named by the conversation id
    "application_draft": ERASE,
}
