"""Redis keys of state-fee payments (bot/payments). An order is a JSON
document; status changes go through bot.payments.orders (optimistic
WATCH/MULTI), so the transition table stays in one place. Layout:

  {pay}:order:<order_id>            JSON payment order (accrual, status, attempts)
  {pay}:create:<idempotency_key>    order id created for that key (create-once)
  {pay}:client:<client_id>          zset of the client's order ids by creation time
  {pay}:pending                     zset of open orders (created/pending) for reconciliation
  {pay}:provider:<name>:<pay_id>    order id of a provider's payment (webhook lookup)
  {pay}:uin:seq                     counter for the accrual-number part of a УИН
  {pay}:uin:<uin>                   order id of a УИН we issued
  {pay}:audit                       stream: payments staff marked received (who, how, order, УИН, amount)

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag)
"""

from __future__ import annotations

from bot.store.keys import ERASE, NO_CLIENT_DATA, PSEUDONYMISE, Keyspace

PAY = Keyspace("pay")


PAYMENT_CREATE_TTL_S = 7 * 24 * 3600


@PAY.family(PSEUDONYMISE)  # accounting records (402-ФЗ): kept, relinked
def payment_order(order_id: str) -> str:
    return f"{PAY.prefix}order:{order_id}"


@PAY.family(ERASE)  # create-once marker named by the conversation id
def payment_create(idempotency_key: str) -> str:
    return f"{PAY.prefix}create:{idempotency_key}"


@PAY.family(PSEUDONYMISE)
def payment_client(client_id: str) -> str:
    return f"{PAY.prefix}client:{client_id}"


@PAY.family(NO_CLIENT_DATA)
def payments_pending() -> str:
    return f"{PAY.prefix}pending"


@PAY.family(NO_CLIENT_DATA)
def payment_provider(provider: str, payment_id: str) -> str:
    return f"{PAY.prefix}provider:{provider}:{payment_id}"


@PAY.family(NO_CLIENT_DATA)
def payment_uin_sequence() -> str:
    return f"{PAY.prefix}uin:seq"


@PAY.family(NO_CLIENT_DATA)
def payment_uin(uin: str) -> str:
    return f"{PAY.prefix}uin:{uin}"


PAYMENT_AUDIT_MAX = 10_000  # entries kept in the staff audit stream


@PAY.family(NO_CLIENT_DATA)  # staff names, order ids, УИН and amounts: no client identifiers
def payment_audit() -> str:
    return f"{PAY.prefix}audit"


# Create an order once per idempotency key: KEYS = [create key, order key,
# client zset, open-orders zset, uin key]; ARGV = [order id, order json, created ts, ttl].
# Returns the id of the order that owns the key (ours or an earlier one).
CREATE_PAYMENT_ONCE = PAY.script(
    "create_payment_once",
    """
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
""",
)
