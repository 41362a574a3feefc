"""Redis keys of the quality indicators (bot/indicators/): counters folded from
the anonymized event stream and the ratings stream. Layout:

  {indicators}:day:<yyyymmdd>   hash: the day's counters, field
                                `<measure>|<channel>|<life situation>`
  {indicators}:conv:<anon id>   hash: what the fold remembers of one anonymized
                                conversation (last request day, last handoff
                                day, last day each topic was answered), 29 days
  {indicators}:cursor:<stream>  string: the last stream id folded in
  {indicators}:lock             the fold's mutex (one replica folds at a time)

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag: a fold
batch writes counters, conversations and the cursor in one transaction)
"""

from __future__ import annotations

from bot.store.keys import ERASE, NO_CLIENT_DATA, TRANSIENT, Keyspace

INDICATORS = Keyspace("indicators")

CONV_TTL_S = 29 * 24 * 3600  # a repeat request counts within 4 weeks
LOCK_TTL_MS = 60_000


@INDICATORS.family(NO_CLIENT_DATA)  # counts per day, channel and life situation
def indicator_day(yyyymmdd: str) -> str:
    return f"{INDICATORS.prefix}day:{yyyymmdd}"


@INDICATORS.family(ERASE)  # keyed by the conversation's anonymous id: erased with its events
def indicator_conv(anon_id: str) -> str:
    return f"{INDICATORS.prefix}conv:{anon_id}"


@INDICATORS.family(NO_CLIENT_DATA)
def indicator_cursor(stream: str) -> str:
    return f"{INDICATORS.prefix}cursor:{stream}"


@INDICATORS.family(TRANSIENT)
def indicator_lock() -> str:
    return f"{INDICATORS.prefix}lock"
