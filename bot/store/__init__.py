"""Redis-backed storage. `keys` owns every key name; nothing else builds keys.

`connect(url)` opens the store REDIS_URL names, in one of three topologies:

  redis://[user:password@]host:port/db, rediss://…, unix:///path?db=0
      one server (or a managed endpoint that fails over by itself)
  redis+sentinel://[user:password@]host:port[,host:port…]/master_name[/db]
      a master with replicas watched by Sentinel: the sentinels are asked
      where the master is, and asked again after a failover
  redis+cluster://[user:password@]host:port[,host:port…]
      Redis Cluster: any reachable nodes; the client learns the slot map

`rediss+sentinel://` and `rediss+cluster://` use TLS to the data nodes. The
password of the userinfo is the data nodes'; sentinels with their own
password take `?sentinel_password=…`.

Every multi-key script or transaction keeps its keys in one hash slot
(bot/store/keys.py), so the same code runs on all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast
from urllib.parse import parse_qs, unquote

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

from .durable import NONE, Durability, set_durability

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


class BadRedisUrl(ValueError):
    """REDIS_URL cannot be understood; the message says what is wrong."""


@dataclass(frozen=True)
class StoreUrl:
    """A parsed sentinel or cluster URL (plain URLs go to redis-py as they are)."""

    scheme: str
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    master: str = ""  # sentinel only
    db: int = 0
    query: dict[str, str] = field(default_factory=dict)

    @property
    def tls(self) -> bool:
        return self.scheme.startswith("rediss")

    @property
    def topology(self) -> str:
        return "cluster" if self.scheme in CLUSTER_SCHEMES else "sentinel"


def topology(url: str) -> str:
    """single | sentinel | cluster, by the URL's scheme."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in SENTINEL_SCHEMES:
        return "sentinel"
    if scheme in CLUSTER_SCHEMES:
        return "cluster"
    return "single"


def parse_store_url(url: str) -> StoreUrl:
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SENTINEL_SCHEMES + CLUSTER_SCHEMES:
        raise BadRedisUrl(f"not a sentinel or cluster URL: {scheme or url!r}")
    rest, _, query_text = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        hosts, userinfo = netloc, ""
    username = password = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = []
    for item in filter(None, hosts.split(",")):
        host, colon, port = item.rpartition(":")
        if not colon or not port.isdigit():
            raise BadRedisUrl(f"REDIS_URL: give each node as host:port (got {item!r})")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise BadRedisUrl("REDIS_URL names no nodes (host:port, comma-separated)")
    query = {k: v[-1] for k, v in parse_qs(query_text).items()}
    parts = [p for p in path.split("/") if p]
    master, db = "", int(query.get("db", 0))
    if scheme in SENTINEL_SCHEMES:
        if not parts:
            raise BadRedisUrl("REDIS_URL: a sentinel URL ends with the master's name, e.g. /mymaster")
        master = unquote(parts[0])
        if len(parts) > 1:
            db = int(parts[1])
    return StoreUrl(scheme, tuple(nodes), username, password, master, db, query)


def connect(url: str, durability: Durability = NONE, *, text: bool = True) -> Redis:
    """All app code uses text (decode_responses) clients; `text=False` gives a bytes client
    (DUMP/RESTORE payloads, bot/store/backup.py). `durability`: how many replicas
    must hold a write that must survive a failover (bot/store/durable.py).

    A cluster client is returned under the `Redis` type: it speaks the same
    commands, scripts and (single-slot) transactions the code uses."""
    kind = topology(url)
    if kind == "single":
        return set_durability(Redis.from_url(url, decode_responses=text, health_check_interval=30), durability)
    parsed = parse_store_url(url)
    common: dict[str, object] = {"decode_responses": text, "username": parsed.username, "password": parsed.password}
    if parsed.tls:
        common["ssl"] = True
    if kind == "cluster":
        # A node that moved or died: the client refreshes the slot map and retries.
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in parsed.nodes],
            **common,
        )
        return cast(Redis, cluster)
    sentinel_kwargs: dict[str, object] = {"socket_timeout": 2.0}
    if "sentinel_password" in parsed.query:
        sentinel_kwargs["password"] = parsed.query["sentinel_password"]
    sentinel = Sentinel(list(parsed.nodes), sentinel_kwargs=sentinel_kwargs, socket_timeout=5.0)
    # After a failover the pool asks the sentinels for the new master on the next connection;
    # retry_on_error makes a command sent to the dead master go there instead of failing.
    master = sentinel.master_for(parsed.master, db=parsed.db, health_check_interval=30, retry_on_timeout=True, **common)
    return set_durability(master, durability)


async def get_many(redis: Redis, names: list[str]) -> list[str | None]:
    """MGET of keys that may lie in several slots: split per slot on a cluster (where it is
    not atomic: only for reads that need no snapshot, such as the eraser's scans)."""
    if isinstance(redis, RedisCluster):
        return await redis.mget_nonatomic(names)
    return await redis.mget(names)
