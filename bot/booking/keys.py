"""Redis keys of appointments (bot/booking, R-11). Layout:

  {booking}:appt:<id>              hash: one appointment (client, topic, slot, status, times)
  {booking}:client:<client_id>     zset: the client's appointment ids by slot time
  {booking}:all                    zset: every appointment id by slot time (staff listing)
  {booking}:slot:<topic>:<epoch>   set: appointment ids holding a place in one slot
  {booking}:reminders              zset: appointment id → when its reminder is due

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag)
"""

from __future__ import annotations

from bot.store.keys import ERASE, NO_CLIENT_DATA, Keyspace

BOOKING = Keyspace("booking")


BOOKING_TTL_S = 365 * 24 * 3600


@BOOKING.family(ERASE)
def appointment(appointment_id: str) -> str:
    return f"{BOOKING.prefix}appt:{appointment_id}"


@BOOKING.family(NO_CLIENT_DATA)
def appointment_prefix() -> str:
    """For Lua scripts that derive a record key from an id."""
    return f"{BOOKING.prefix}appt:"


@BOOKING.family(ERASE)
def client_appointments(client_id: str) -> str:
    return f"{BOOKING.prefix}client:{client_id}"


@BOOKING.family(ERASE)
def appointments_all() -> str:
    return f"{BOOKING.prefix}all"


@BOOKING.family(NO_CLIENT_DATA)  # appointment ids; erasure cancels through the booking service
def appointment_slot(topic: str, epoch: int) -> str:
    return f"{BOOKING.prefix}slot:{topic}:{epoch}"


@BOOKING.family(NO_CLIENT_DATA)
def appointment_slot_prefix() -> str:
    """`<prefix><topic>:<epoch>` is a slot key; Lua builds the old slot's key from the record."""
    return f"{BOOKING.prefix}slot:"


@BOOKING.family(ERASE)
def appointment_reminders() -> str:
    return f"{BOOKING.prefix}reminders"


# Take one place in a slot if one is free, and save the appointment in the
# same step: two clients never get the last place.
# KEYS: slot set, record, client zset, all zset, reminders zset.
# ARGV: capacity, id, slot epoch, reminder due ('' = none), ttl, field, value …
# Returns 1 booked, 0 the slot is full.
BOOK_APPOINTMENT = BOOKING.script(
    "book_appointment",
    """
if redis.call('scard', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('sadd', KEYS[1], ARGV[2])
redis.call('expire', KEYS[1], tonumber(ARGV[5]))
for i = 6, #ARGV, 2 do redis.call('hset', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('expire', KEYS[2], tonumber(ARGV[5]))
redis.call('zadd', KEYS[3], tonumber(ARGV[3]), ARGV[2])
redis.call('zadd', KEYS[4], tonumber(ARGV[3]), ARGV[2])
if ARGV[4] ~= '' then redis.call('zadd', KEYS[5], tonumber(ARGV[4]), ARGV[2]) end
return 1
""",
)


# Move a booked appointment to another slot of its topic: take the new place
# and free the old one at once (the old place is never lost, nor held twice).
# KEYS: new slot set, record, client zset, all zset, reminders zset.
# ARGV: capacity, id, new epoch, reminder due ('' = none), ttl, slot key prefix,
# Returns 1 moved, 0 the new slot is full, -1 not a booked appointment of this
# client, -2 it is already in that slot.
MOVE_APPOINTMENT = BOOKING.script(
    "move_appointment",
    """
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
""",
)


# Cancel a booked appointment: free its place and drop its reminder.
# KEYS: record, reminders zset. ARGV: id, slot key prefix, client id, now.
# Returns 1 cancelled, -1 not a booked appointment of this client.
CANCEL_APPOINTMENT = BOOKING.script(
    "cancel_appointment",
    """
if redis.call('hget', KEYS[1], 'status') ~= 'booked'
   or redis.call('hget', KEYS[1], 'client_id') ~= ARGV[3] then return -1 end
local slot = ARGV[2] .. redis.call('hget', KEYS[1], 'topic') .. ':' .. redis.call('hget', KEYS[1], 'slot')
redis.call('srem', slot, ARGV[1])
redis.call('hset', KEYS[1], 'status', 'cancelled', 'cancelled_at', ARGV[4])
redis.call('zrem', KEYS[2], ARGV[1])
return 1
""",
)


# A consultant marks whether the client came: booked (or already marked, to correct
# it) → attended | no_show, with who and when; a reminder still queued is dropped.
# KEYS: record, reminders zset. ARGV: id, status, staff name, now.
# Returns 1 marked, -1 no such appointment or it was cancelled.
MARK_VISIT = BOOKING.script(
    "mark_visit",
    """
local status = redis.call('hget', KEYS[1], 'status')
if status ~= 'booked' and status ~= 'attended' and status ~= 'no_show' then return -1 end
redis.call('hset', KEYS[1], 'status', ARGV[2], 'visit_by', ARGV[3], 'visit_at', ARGV[4])
redis.call('zrem', KEYS[2], ARGV[1])
return 1
""",
)

# Take the reminders that are due (remove them from the zset in the same step,
# so two workers never both send one). KEYS: reminders zset. ARGV: now, limit.
TAKE_DUE_REMINDERS = BOOKING.script(
    "take_due_reminders",
    """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('zrem', KEYS[1], member) end
return due
""",
)
