"""Proactive notifications against a real Redis, with an injectable clock:
only consenting clients receive a campaign, each message names its basis and
offers «Отписаться», a withdrawal stops a queued message, frequency (digests)
and quiet hours hold, delivery is retried and never duplicated.

These tests use their own Redis database (the same real server) so the
global queue holds only what they put in it."""

from __future__ import annotations

import itertools
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.channels.outbound import Outbound
from bot.consent import keys as consent_keys
from bot.consent import texts
from bot.consent.campaigns import Campaign, CampaignExists, create_campaign, launch_campaign
from bot.consent.documents import load_documents, show
from bot.consent.ledger import Ledger
from bot.consent.model import Action, Kind, Record
from bot.consent.notifications import Sender, deliveries, notification, notify, remember_address
from bot.store import connect, keys

KAMCHATKA = ZoneInfo("Asia/Kamchatka")
_ids = itertools.count(1)


def at(day: int, hour: int, minute: int = 0) -> float:
    """March 2025, local time in Kamchatka (12 March is a Wednesday)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=KAMCHATKA).timestamp()


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder:
    """A channel that records what it was asked to deliver (or fails on demand)."""

    def __init__(self):
        self.sent: list[tuple[str, str, list]] = []
        self.fail_next = 0

    async def __call__(self, conversation_id, client_id, replies) -> bool:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("channel temporarily down")
        self.sent.append((conversation_id, client_id, replies))
        return True

    def to(self, client_id: str) -> list:
        return [r for _cid, c, replies in self.sent if c == client_id for r in replies]


@pytest_asyncio.fixture
async def redis(redis_server):
    r = connect(redis_server.url.replace("db=0", "db=7"))
    await r.flushdb()
    yield r
    await r.aclose()


@pytest.fixture
def clock():
    return Clock(at(12, 12))


@pytest.fixture
def channel():
    return Recorder()


@pytest.fixture
def sender(redis, channel, clock):
    outbound = Outbound()
    outbound.register("test", channel)
    return Sender(
        redis,
        outbound,
        tz=KAMCHATKA,
        default_quiet="21:00-09:00",
        digest_hour=10,
        max_attempts=3,
        retry_seconds=30,
        clock=clock,
    )


async def a_client(
    redis, *grants: str, when: float = at(10, 15), frequency: dict | None = None, segment: str | None = None
) -> str:
    """A client reachable in the `test` channel who gave these consents (`situation:taxes` …)."""
    cid = f"notify-client-{next(_ids)}"
    await remember_address(redis, cid, "test", f"conv-{cid}")
    if segment:
        await redis.hset(keys.client(cid), "segment", segment)
    docs = load_documents()
    records = []
    for grant in grants:
        kind, _, scope = grant.partition(":")
        topic = scope if kind == "service" else texts.topic_phrase(scope)
        shown = show(docs.for_kind(Kind(kind)), "центр", topic)
        records.append(
            Record(
                client_id=cid,
                kind=Kind(kind),
                scope=scope,
                action=Action.grant,
                ts=when,
                channel="test",
                **shown.ledger_fields(),
            )
        )
    for category, value in (frequency or {}).items():
        records.append(
            Record(
                client_id=cid,
                kind=Kind.notify,
                scope=category,
                action=Action.set,
                ts=when,
                channel="test",
                settings={"frequency": value},
            )
        )
    if records:
        await Ledger(redis).append(*records)
    return cid


async def a_campaign(redis, cid: str = "", **fields) -> Campaign:
    spec = {
        "id": cid or f"camp-{next(_ids)}",
        "title": "Срок уплаты налога",
        "category": "content",
        "text": "Напоминаем: до 25 апреля нужно уплатить налог по УСН за первый квартал.",
        "life_situation": "taxes",
        **fields,
    }
    return await create_campaign(redis, Campaign.model_validate(spec))


async def withdraw(redis, cid: str, scope: str, when: float) -> None:
    kind, _, value = scope.partition(":")
    await Ledger(redis).append(
        Record(client_id=cid, kind=Kind(kind), scope=value, action=Action.withdraw, ts=when, channel="test")
    )


async def test_campaign_reaches_exactly_the_consenting_clients(redis, sender, channel):
    consenting = await a_client(redis, "situation:taxes")
    everything = await a_client(redis, "situation:*")
    other_topic = await a_client(redis, "situation:support")
    withdrawn = await a_client(redis, "situation:taxes")
    await withdraw(redis, withdrawn, "situation:taxes", at(11, 10))
    never_asked = await a_client(redis)  # known address, no consent at all

    campaign = await a_campaign(redis)
    report = await launch_campaign(redis, campaign.id, clock=sender.clock)
    assert (report.queued, report.no_consent) == (2, 2)
    await sender.drain()

    assert {c for _conv, c, _r in channel.sent} == {consenting, everything}
    for silent in (other_topic, withdrawn, never_asked):
        assert channel.to(silent) == []


async def test_a_notification_names_its_basis_and_offers_one_tap_unsubscribe(redis, sender, channel):
    cid = await a_client(redis, "situation:taxes", when=at(10, 15))
    campaign = await a_campaign(redis)
    await launch_campaign(redis, campaign.id, clock=sender.clock)
    await sender.drain()

    [message] = channel.to(cid)
    assert message.text.startswith(campaign.text)
    assert "потому что 10.03.2025 дали согласие: сообщения о мерах поддержки и услугах по теме «налоги»" in message.text
    assert message.buttons[0].title == "Отписаться"
    assert message.buttons[0].payload == "flow:consent:r:situation:taxes"
    [log] = [d for d in await deliveries(redis) if d["client_id"] == cid]
    assert (log["status"], log["campaign"], log["basis"]) == ("sent", campaign.id, "situation:taxes")
    assert (await notification(redis, f"c:{campaign.id}:{cid}"))["status"] == "sent"


async def test_withdrawal_after_queueing_stops_the_message(redis, sender, channel):
    cid = await a_client(redis, "situation:taxes")
    campaign = await a_campaign(redis)
    assert (await launch_campaign(redis, campaign.id, clock=sender.clock)).queued == 1
    await withdraw(redis, cid, "situation:taxes", at(12, 11))  # queued, not yet sent
    await sender.drain()

    assert channel.to(cid) == []
    item = await notification(redis, f"c:{campaign.id}:{cid}")
    assert (item["status"], item["reason"]) == ("skipped", "no consent")


async def test_a_campaign_is_delivered_once_however_often_it_is_launched_or_redelivered(redis, sender, channel):
    cid = await a_client(redis, "situation:taxes")
    campaign = await a_campaign(redis)
    await launch_campaign(redis, campaign.id, clock=sender.clock)
    again = await launch_campaign(redis, campaign.id, clock=sender.clock)
    assert (again.queued, again.already_queued) == (0, 1)
    # a stale duplicate queue entry (e.g. redelivered after a worker restart)
    await redis.xadd(consent_keys.notify_queue(), {"nid": f"c:{campaign.id}:{cid}"})
    await sender.drain()
    await sender.drain()
    assert len(channel.to(cid)) == 1
    with pytest.raises(CampaignExists):
        await a_campaign(redis, campaign.id)


async def test_quiet_hours_hold_proactive_messages_but_not_transactional_ones(redis, sender, channel, clock):
    cid = await a_client(redis, "situation:taxes")
    clock.t = at(12, 23, 30)
    campaign = await a_campaign(redis)
    await launch_campaign(redis, campaign.id, clock=clock)
    await notify(
        SimpleNamespace(redis=redis),
        cid,
        "transactional",
        "Оплата госпошлины прошла успешно.",
        basis="вы оплатили госпошлину через помощника",
        key="pay:1",
    )
    await sender.drain()
    [paid] = channel.to(cid)
    assert "Оплата госпошлины прошла" in paid.text and "служебное уведомление" in paid.text
    assert paid.buttons[0].payload == "flow:consent:pf:transactional:off"

    clock.t = at(13, 8, 59)
    await sender.drain()
    assert len(channel.to(cid)) == 1
    clock.t = at(13, 9, 0)
    await sender.drain()
    assert [m.text.split("\n")[0] for m in channel.to(cid)][1] == campaign.text


async def test_daily_and_weekly_frequency_become_one_digest(redis, sender, channel, clock):
    daily = await a_client(redis, "situation:taxes", frequency={"content": "daily"})
    weekly = await a_client(redis, "situation:taxes", frequency={"content": "weekly"})
    first, second = await a_campaign(redis), await a_campaign(redis, text="Открыт приём заявок на грант.")
    for c in (first, second):
        await launch_campaign(redis, c.id, clock=clock)
    await sender.drain()
    assert channel.sent == []

    clock.t = at(13, 9, 59)
    await sender.drain()
    assert channel.sent == []
    clock.t = at(13, 10, 0)  # Thursday 10:00: the daily digest
    await sender.drain()
    [digest] = channel.to(daily)
    assert digest.text.startswith("Подборка за день:")
    assert first.text in digest.text and "Открыт приём заявок на грант." in digest.text
    assert digest.text.count("дали согласие") == 2
    assert channel.to(weekly) == []

    clock.t = at(17, 9, 0)  # Monday before the slot
    await sender.drain()
    assert channel.to(weekly) == []
    clock.t = at(17, 10, 0)
    await sender.drain()
    [weekly_digest] = channel.to(weekly)
    assert weekly_digest.text.startswith("Подборка за неделю:")
    assert len(channel.to(daily)) == 1


async def test_a_category_switched_off_gets_nothing(redis, sender, channel):
    cid = await a_client(redis, "situation:taxes", frequency={"content": "off", "transactional": "off"})
    campaign = await a_campaign(redis)
    await launch_campaign(redis, campaign.id, clock=sender.clock)
    await notify(SimpleNamespace(redis=redis), cid, "transactional", "Статус заявки изменился.", key="app:1")
    await sender.drain()
    assert channel.to(cid) == []
    assert (await notification(redis, "app:1"))["reason"] == "transactional notifications are off"


async def test_transient_failures_are_retried_and_then_given_up(redis, sender, channel, clock):
    cid = await a_client(redis, "situation:taxes")
    channel.fail_next = 1
    campaign = await a_campaign(redis)
    await launch_campaign(redis, campaign.id, clock=clock)
    await sender.drain()
    assert channel.to(cid) == [] and (await notification(redis, f"c:{campaign.id}:{cid}"))["status"] == "retry"
    clock.t += 30
    await sender.drain()
    assert len(channel.to(cid)) == 1

    unreachable = await a_client(redis, "situation:support")
    await redis.delete(consent_keys.client_addresses(unreachable))
    second = await a_campaign(redis, life_situation="support")
    await launch_campaign(redis, second.id, clock=clock)
    for _ in range(4):
        await sender.drain()
        clock.t += 600
    item = await notification(redis, f"c:{second.id}:{unreachable}")
    assert (item["status"], item["attempts"]) == ("failed", "3")
    assert len(channel.to(cid)) == 1  # the first client got nothing twice


async def test_campaigns_target_segments_and_individual_services(redis, sender, channel):
    ip = await a_client(redis, "situation:*", segment="ip")
    sme = await a_client(redis, "situation:*", segment="sme")
    subscribed = await a_client(redis, "service:grant-2025")
    campaign = await a_campaign(redis, life_situation=None, segments=["ip"])
    service = await a_campaign(
        redis,
        life_situation=None,
        service="grant-2025",
        category="trigger",
        text="Ваша заявка на грант рассмотрена: результат в личном кабинете.",
    )
    assert service.scope == "service:grant-2025"
    for c in (campaign, service):
        await launch_campaign(redis, c.id, clock=sender.clock)
    await sender.drain()
    assert len(channel.to(ip)) == 1 and channel.to(sme) == []
    [message] = channel.to(subscribed)
    assert "об услуге «grant-2025»" in message.text
    assert message.buttons[0].payload == "flow:consent:r:service:grant-2025"


def test_campaign_definitions_are_validated():
    with pytest.raises(ValueError, match="not campaigns"):
        Campaign.model_validate(
            {"id": "x", "title": "Оплата", "category": "transactional", "text": "Платёж прошёл успешно."}
        )
    with pytest.raises(ValueError, match="unknown life situation"):
        Campaign.model_validate(
            {
                "id": "x",
                "title": "Налоги",
                "category": "content",
                "text": "Новые ставки налога.",
                "life_situation": "weather",
            }
        )


async def test_a_broken_item_does_not_block_the_queue(redis, sender, channel, clock):
    cid = await a_client(redis, "situation:taxes")
    await redis.hset(
        consent_keys.notification("broken"),
        mapping={"client_id": cid, "category": "nonsense", "text": "x", "status": "queued", "attempts": "0"},
    )
    await redis.xadd(consent_keys.notify_queue(), {"nid": "broken"})
    campaign = await a_campaign(redis)
    await launch_campaign(redis, campaign.id, clock=clock)
    for _ in range(3):
        await sender.drain()
        clock.t += 60
    assert len(channel.to(cid)) == 1
    assert (await notification(redis, "broken"))["status"] == "failed"
