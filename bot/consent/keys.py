"""Redis keys of consent and proactive notifications (bot/consent). Layout:

  {consent}:<client>:ledger     stream: the client's consent ledger (append-only)
  {consent}:audit               stream: every consent record of every client (auditor)
  {consent}:clients             set: clients with at least one ledger record
  {consent}:addresses:<client>  hash: channel → last conversation id (for proactive sends)
  {notify}:queue                stream (group `senders`): notification ids to deliver
  {notify}:n:<nid>              hash: one notification (client, category, text, basis, status)
  {notify}:scheduled            zset: nid → due time (quiet hours, retries)
  {notify}:digest:<client>      set: nids waiting for the client's digest
  {notify}:digest_due           zset: client → time of the next digest
  {notify}:deliveries           stream: delivery log (sent / skipped / failed)
  {campaign}:<id>               JSON campaign definition
  {campaign}:all                zset: campaign id → created

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag)
"""

from __future__ import annotations

from bot.store.keys import ERASE, NO_CLIENT_DATA, PSEUDONYMISE, Keyspace

CONSENT = Keyspace("consent")
NOTIFY = Keyspace("notify")
CAMPAIGN = Keyspace("campaign")


NOTIFY_GROUP = "senders"


NOTIFICATION_TTL_S = 180 * 24 * 3600  # idempotency window of a (campaign, client) pair
DELIVERIES_MAXLEN = 1_000_000


@CONSENT.family(PSEUDONYMISE)  # proof of consent (152-ФЗ art. 9 part 3)
def consent_ledger(client_id: str) -> str:
    return f"{CONSENT.prefix}{client_id}:ledger"


@CONSENT.family(PSEUDONYMISE)
def consent_audit() -> str:
    return f"{CONSENT.prefix}audit"


@CONSENT.family(PSEUDONYMISE)
def consent_clients() -> str:
    return f"{CONSENT.prefix}clients"


@CONSENT.family(ERASE)
def client_addresses(client_id: str) -> str:
    return f"{CONSENT.prefix}addresses:{client_id}"


@NOTIFY.family(NO_CLIENT_DATA)  # notification ids only
def notify_queue() -> str:
    return f"{NOTIFY.prefix}queue"


@NOTIFY.family(ERASE)
def notification(nid: str) -> str:
    return f"{NOTIFY.prefix}n:{nid}"


@NOTIFY.family(ERASE)
def notify_scheduled() -> str:
    return f"{NOTIFY.prefix}scheduled"


@NOTIFY.family(ERASE)
def notify_digest(client_id: str) -> str:
    return f"{NOTIFY.prefix}digest:{client_id}"


@NOTIFY.family(ERASE)
def notify_digest_due() -> str:
    return f"{NOTIFY.prefix}digest_due"


@NOTIFY.family(ERASE)
def notify_deliveries() -> str:
    return f"{NOTIFY.prefix}deliveries"


@CAMPAIGN.family(NO_CLIENT_DATA)
def campaign(campaign_id: str) -> str:
    return f"{CAMPAIGN.prefix}{campaign_id}"


@CAMPAIGN.family(NO_CLIENT_DATA)
def campaigns() -> str:
    return f"{CAMPAIGN.prefix}all"


# Enqueue a notification once per idempotency key: the item hash is created
# only if absent, and the queue entry is added in the same atomic step.
# KEYS: item hash, queue stream. ARGV: nid, ttl, field, value, field, value …
ENQUEUE_NOTIFICATION = NOTIFY.script(
    "enqueue_notification",
    """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('expire', KEYS[1], tonumber(ARGV[2]))
redis.call('xadd', KEYS[2], '*', 'nid', ARGV[1])
return 1
""",
)


# Claim a notification for sending: only from one of the given statuses, so
# two workers (or a redelivered queue entry) never send it twice.
# KEYS: item hash. ARGV: new status, allowed status …  Returns 1 or the status.
CLAIM_NOTIFICATION = NOTIFY.script(
    "claim_notification",
    """
local status = redis.call('hget', KEYS[1], 'status')
if not status then return 'missing' end
for i = 2, #ARGV do
  if status == ARGV[i] then redis.call('hset', KEYS[1], 'status', ARGV[1]); return 1 end
end
return status
""",
)


# Move up to ARGV[2] members of a zset whose time (score) has come to the
# queue stream, atomically (no entry lost or doubled between the two).
# KEYS: zset, queue stream. ARGV: now, limit, stream field name.
RELEASE_DUE = NOTIFY.script(
    "release_due",
    """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('zrem', KEYS[1], member)
  redis.call('xadd', KEYS[2], '*', ARGV[3], member)
end
return #due
""",
)


# Take all notifications waiting in a client's digest (read and clear at once).
TAKE_DIGEST = NOTIFY.script(
    "take_digest",
    """
local ids = redis.call('smembers', KEYS[1])
redis.call('del', KEYS[1])
return ids
""",
)
