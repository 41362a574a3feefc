"""Redis keys of applications and drafts (bot/applications, R-9 / R-10). Layout:

  {app}:<number>                   JSON application (form, answers, status, status history)
  {app}:client:<client_id>         zset: the client's application numbers by submission time
  {app}:all                        zset: every application number by submission time (staff lists)
  {app}:seq:<year>                 counter behind the number МБ-<year>-NNNNNN
  {app}:create:<submit key>        number created for one submission (submit-once)
  {app}:draft:<client_id>:<form>   JSON unfinished form (answers so far); expires

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag)
"""

from __future__ import annotations

from bot.store.keys import ERASE, NO_CLIENT_DATA, PSEUDONYMISE, Keyspace

APP = Keyspace("app")


APP_CREATE_TTL_S = 30 * 24 * 3600


@APP.family(PSEUDONYMISE)  # submitted applications: kept without contacts, relinked
def application(number: str) -> str:
    return f"{APP.prefix}{number}"


@APP.family(PSEUDONYMISE)
def application_client(client_id: str) -> str:
    return f"{APP.prefix}client:{client_id}"


@APP.family(NO_CLIENT_DATA)  # application numbers
def applications_all() -> str:
    return f"{APP.prefix}all"


@APP.family(NO_CLIENT_DATA)
def application_sequence(year: int) -> str:
    return f"{APP.prefix}seq:{year}"


@APP.family(ERASE)  # submit-once marker named by the conversation id
def application_create(submit_key: str) -> str:
    return f"{APP.prefix}create:{submit_key}"


@APP.family(ERASE)
def application_draft(client_id: str, form_id: str) -> str:
    return f"{APP.prefix}draft:{client_id}:{form_id}"


# Store a new application once per submission key. KEYS: create key,
# application key, client zset, all zset, draft key. ARGV: number, json,
# created ts, create-key ttl. Returns the number owning the key (ours or earlier).
CREATE_APPLICATION_ONCE = APP.script(
    "create_application_once",
    """
local existing = redis.call('get', KEYS[1])
if existing then return existing end
redis.call('set', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[4]))
redis.call('set', KEYS[2], ARGV[2])
redis.call('zadd', KEYS[3], tonumber(ARGV[3]), ARGV[1])
redis.call('zadd', KEYS[4], tonumber(ARGV[3]), ARGV[1])
redis.call('del', KEYS[5])
return ARGV[1]
""",
)
