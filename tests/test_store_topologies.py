"""The store beyond one server: REDIS_URL's three forms, every registered Lua
script on a real 3-master Redis Cluster, the queue, ledger, notification and
conversation suites run again on a cluster and on Sentinel, and a Sentinel
failover during writes that loses nothing the store acknowledged.

The servers are Debian's `redis-server` / `redis-sentinel`, started here on
127.0.0.1 in temp folders (tests/redis_topologies.py); without them the
tests skip and say what to install."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import pytest
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from bot.consent.ledger import Ledger
from bot.consent.model import Action, Kind, Record
from bot.settings import ROOT, Settings
from bot.store import BadRedisUrl, connect, keys, parse_store_url, topology
from bot.store.durable import Durability, NotReplicated
from handoff.queue import HandoffQueue
from tests import redis_topologies
from tests.test_keys import key_modules

needs_redis = pytest.mark.skipif(bool(redis_topologies.missing_binaries()), reason=redis_topologies.missing_binaries())
CROSS_SLOT = re.compile(r"CROSSSLOT|same slot|non local key|hash to the same slot|all keys must map", re.I)


# ------------------------------------------------------------ REDIS_URL forms
def test_the_three_forms_of_redis_url_are_understood():
    assert topology("redis://127.0.0.1:6379/0") == topology("unix:///tmp/r.sock?db=0") == "single"
    s = parse_store_url("redis+sentinel://:s%40cret@10.0.0.1:26379,[::1]:26380/assistant/2?sentinel_password=x")
    assert (s.topology, s.nodes, s.master, s.db, s.password) == (
        "sentinel",
        (("10.0.0.1", 26379), ("::1", 26380)),
        "assistant",
        2,
        "s@cret",
    )
    assert s.query["sentinel_password"] == "x" and not s.tls
    c = parse_store_url("rediss+cluster://app:pw@a:7000,b:7001")
    assert (c.topology, c.nodes, c.username, c.password, c.tls) == (
        "cluster",
        (("a", 7000), ("b", 7001)),
        "app",
        "pw",
        True,
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://a:26379", "master's name"),
        ("redis+cluster://", "names no nodes"),
        ("redis+cluster://a", "host:port"),
    ],
)
def test_a_wrong_redis_url_says_what_to_fix(url, says):
    with pytest.raises(BadRedisUrl, match=says):
        parse_store_url(url)


def test_every_multi_key_script_lives_in_a_space_whose_keys_share_a_slot():
    key_modules()
    for name, lua in keys.SCRIPTS.items():
        space = keys.SPACES[name.split(".", 1)[0]]
        if _count(lua, "KEYS") > 1:
            assert "{" in space.prefix or space.entity_tagged, f"{name} touches several keys of an untagged space"


# ------------------------------------------------------------ real servers
def _count(lua: str, table: str) -> int:
    return max((int(n) for n in re.findall(rf"{table}\[(\d+)\]", lua)), default=0)


def _probe_keys(space: keys.Keyspace, n: int) -> list[str]:
    base = space.entity("probe") if space.entity_tagged else f"{space.prefix}probe"
    return [f"{base}:{i}" for i in range(n)]


@pytest.fixture(scope="module")
def cluster():
    if why := redis_topologies.missing_binaries():
        pytest.skip(why)
    with redis_topologies.cluster() as found:
        yield found


@pytest.mark.slow
async def test_every_registered_script_runs_on_a_real_cluster(cluster):
    """Each script is run with keys of its own space (and its own space's prefix for the
    keys it builds from its arguments): Redis 7 refuses a script whose keys, declared or
    not, lie in several slots, so only the errors of nonsense arguments may remain."""
    key_modules()
    redis = connect(cluster.url)
    try:
        ran = 0
        for name, lua in sorted(keys.SCRIPTS.items()):
            space = keys.SPACES[name.split(".", 1)[0]]
            args = [space.prefix] * _count(lua, "ARGV")
            try:
                await redis.eval(lua, _count(lua, "KEYS"), *_probe_keys(space, _count(lua, "KEYS")), *args)
            except ResponseError as exc:  # a number expected where the probe gave a prefix: fine
                assert not CROSS_SLOT.search(str(exc)), f"{name}: {exc}"
            ran += 1
        assert ran == len(keys.SCRIPTS) >= 15
        # The check can fail: two spaces in one script are refused on a cluster.
        with pytest.raises((ResponseError, RedisClusterException), match=CROSS_SLOT):
            await redis.eval("return redis.call('mget', KEYS[1], KEYS[2])", 2, keys.conversation("a"), keys.client("a"))
    finally:
        await redis.aclose()


@pytest.mark.slow
async def test_a_conversation_keeps_its_keys_together_and_conversations_spread(cluster):
    from redis.asyncio.cluster import RedisCluster

    from bot.store.conversations import ConversationState, ConversationStore

    redis = connect(cluster.url)
    try:
        assert isinstance(redis, RedisCluster)
        store = ConversationStore(redis)
        slots = set()
        for i in range(30):
            cid = f"tg:{1000 + i}"
            async with store.lock(cid):
                await store.save(ConversationState(conversation_id=cid, client_id=f"c{i}", channel="tg"), {"text": "x"})
            assert len({redis.keyslot(k) for k in (keys.conversation(cid), keys.history(cid), keys.lock(cid))}) == 1
            slots.add(redis.get_node_from_key(keys.conversation(cid)).port)
            assert (await store.load(cid)).client_id == f"c{i}"
        assert len(slots) == 3  # thirty conversations land on every master
    finally:
        await redis.aclose()


SUITES = [
    "tests/test_handoff_queue.py",
    "tests/test_consent_ledger.py",
    "tests/test_notifications.py",
    "tests/test_store_topologies.py::test_conversations_and_flows_through_the_api",
]


@pytest.mark.slow
@needs_redis
@pytest.mark.parametrize("kind", ["cluster", "sentinel"])
def test_queue_ledger_notification_and_conversation_suites_pass_on(kind):
    """The same tests that run on the embedded server, on the other topology (a child
    pytest with TEST_REDIS_TOPOLOGY: the session's store fixture starts it)."""
    env = {**os.environ, "TEST_REDIS_TOPOLOGY": kind}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not rasa", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = "\n".join(done.stdout.splitlines()[-15:])
    assert done.returncode == 0, tail
    assert re.search(r"(\d+) passed", tail) and " skipped" not in tail, tail


@pytest.mark.slow
async def test_conversations_and_flows_through_the_api(redis_server, retriever, tmp_path):
    """Knowledge-base answers, a flow over several turns, consent, and a handoff request on
    whatever store the session runs (the embedded one, or a cluster / Sentinel in the child
    run above). No Rasa: understanding comes from the knowledge base alone."""
    import httpx

    from bot.app import create_app
    from bot.runtime import Runtime
    from tests.chat import Chat
    from tests.conftest import API_KEY

    settings = Settings(
        _env_file=None,
        assistant_api_key=API_KEY,
        data_dir=tmp_path,
        redis_url="",
        rasa_url="",
        api_rate_limit_per_minute=0,
    )
    runtime = await Runtime.create(settings, redis_server.url, None, retriever)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://a", headers={"X-Api-Key": API_KEY}) as api:
            chats = [Chat(api, client_id=f"topology-client-{i}") for i in range(6)]
            await asyncio.gather(*(c.say("как зарегистрировать ИП") for c in chats))
            assert all(c.kinds() for c in chats)
            chat = chats[0]
            await chat.press("do:request_callback")
            assert chat.last["state"]["flow"] == "callback"
            first = chat.text()
            await chat.say("8 914 123 45 67")
            assert chat.text() != first  # the flow moved on: its state was saved and read back
            state = await runtime.engine.conversations.load(_scoped(runtime, chat))
            assert state is not None and state.turns >= 3
            history = await runtime.engine.conversations.history(state.conversation_id)
            assert [h["text"] for h in history if h["from"] == "client"][:1] == ["как зарегистрировать ИП"]
    finally:
        await runtime.close()


def _scoped(runtime, chat) -> str:
    import hashlib

    from bot.channels.api import scoped_conversation_id
    from tests.conftest import API_KEY

    return scoped_conversation_id(hashlib.sha256(API_KEY.encode()).hexdigest()[:10], chat.cid)


# ------------------------------------------------------------ failover
@pytest.fixture(scope="module")
def sentinel_setup():
    if why := redis_topologies.missing_binaries():
        pytest.skip(why)
    with redis_topologies.sentinel() as found:
        yield found


@pytest.mark.slow
async def test_a_sentinel_failover_during_writes_loses_nothing_acknowledged(sentinel_setup):
    """The master is killed (SIGKILL) mid-burst; Sentinel promotes the replica; the old
    master comes back (as systemd would start it) and is made a replica. Every consent,
    payment order, application and handoff request the store acknowledged is on the new
    master; writes resume within a bounded time."""
    from bot.applications.store import ApplicationStore
    from bot.payments.catalogue import load_catalogue
    from bot.payments.orders import OrderStore

    setup = sentinel_setup
    redis = connect(setup.url, Durability(replicas=1, timeout_ms=2000))
    ledger, queue, orders, applications = Ledger(redis), HandoffQueue(redis), OrderStore(redis), ApplicationStore(redis)
    fee = load_catalogue(ROOT / "bot" / "payments" / "fees.yaml").fees[0]
    acked: dict[str, list[str]] = {"consent": [], "order": [], "application": [], "handoff": []}
    failed = 0

    async def write(i: int) -> None:
        nonlocal failed
        client, cid = f"failover-{i}", f"api:failover:{i}"
        try:
            grant = Record(
                client_id=client,
                kind=Kind.personal_data,
                scope="callback",
                action=Action.grant,
                ts=time.time(),
                channel="api",
            )
            await ledger.append(grant)
            acked["consent"].append(client)
            order = await orders.create(
                fee, client_id=client, conversation_id=cid, channel="api", idempotency_key=f"fo-{i}", ttl_seconds=3600
            )
            acked["order"].append(order.id)
            app, _ = await applications.create(
                form="grant", title="Заявка на грант", client_id=client, conversation_id=cid, channel="api",
                answers={"inn": "7707083893"}, review_days=10, submit_key=f"fa-{i}",
            )  # fmt: skip
            acked["application"].append(app.number)
            if await queue.enqueue(cid, client_id=client, channel="api"):
                acked["handoff"].append(cid)
        except (RedisError, NotReplicated, OSError):
            failed += 1  # not acknowledged: the client would be told it did not go through

    old_master = setup.master_port()
    i = 0
    while len(acked["handoff"]) < 30:
        await write(i)
        i += 1
    setup.master.kill()
    deadline = time.monotonic() + 60
    while setup.master_port() == old_master:  # writes go on (and fail) while Sentinel decides
        assert time.monotonic() < deadline, "Sentinel did not fail over within 60 s"
        await write(i)
        i += 1
        await asyncio.sleep(0.05)
    await asyncio.to_thread(setup.master.restart)  # comes back; the sentinels make it a replica
    before = len(acked["handoff"])
    while len(acked["handoff"]) < before + 30:
        assert time.monotonic() < deadline, f"writes did not resume within 60 s ({failed} failed)"
        await write(i)
        i += 1
        if len(acked["handoff"]) == before:
            await asyncio.sleep(0.1)

    assert setup.replica.client().info("replication")["role"] == "master"
    for client in acked["consent"]:
        assert await ledger.records(client), f"an acknowledged consent of {client} was lost"
    for order_id in acked["order"]:
        assert await orders.get(order_id), f"an acknowledged payment order {order_id} was lost"
    for number in acked["application"]:
        assert await applications.get(number), f"an acknowledged application {number} was lost"
    assert set(acked["handoff"]) <= {t.conversation_id for t in await queue.waiting()}
    assert failed  # some writes were refused meanwhile, and never acknowledged
    await redis.aclose()


@pytest.mark.slow
async def test_without_a_replica_a_durable_write_is_refused_not_silently_kept(sentinel_setup):
    redis = connect(sentinel_setup.url, Durability(replicas=2, timeout_ms=200))  # asks more than there are
    with pytest.raises(NotReplicated, match="of 2 replicas"):
        await Ledger(redis).append(
            Record(
                client_id="lonely",
                kind=Kind.personal_data,
                scope="callback",
                action=Action.grant,
                ts=1.0,
                channel="api",
            )
        )
    await redis.aclose()


# ------------------------------------------------------------ the key layout
async def test_a_store_of_the_older_key_layout_is_renamed_once_and_nothing_is_lost(redis_server):
    from bot.store.conversations import ConversationState, ConversationStore
    from bot.store.migrate import LAYOUT, migrate

    if topology(redis_server.url) != "single":
        pytest.skip("layout 1 existed on a single server only")
    redis = connect(redis_server.url.replace("db=0", "db=9"))
    await redis.flushdb()
    try:
        old = ConversationState(conversation_id="tg:42", client_id="tg:7", channel="tg", turns=3)
        await redis.set("mb:conv:tg:42", old.model_dump_json())
        await redis.rpush("mb:conv:tg:42:history", '{"from": "client", "text": "привет"}')
        await redis.set("mb:conv:tg:43:lock", "a1b2c3", px=30_000)  # a turn's mutex: left to expire
        assert await migrate(redis) == 2
        store = ConversationStore(redis)
        assert (await store.load("tg:42")).turns == 3
        assert [h["text"] for h in await store.history("tg:42")] == ["привет"]
        assert not await redis.exists("mb:conv:tg:42", "mb:conv:tg:42:history")
        assert int(await redis.get(keys.layout())) == LAYOUT
        await redis.set("mb:conv:tg:44", old.model_dump_json())
        assert await migrate(redis) == 0  # once: a later start does not scan again
    finally:
        await redis.flushdb()
        await redis.aclose()
