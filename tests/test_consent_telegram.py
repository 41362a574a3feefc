"""Consent end to end in Telegram: the real bot (aiogram, long polling)
against the Telegram Bot API emulator, the real core, Rasa model and Redis.
A client subscribes with buttons, receives a proactive message naming its
basis, presses «Отписаться», and gets nothing more — not even the message
that was already queued."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.channels import telegram
from bot.consent import keys as consent_keys
from bot.consent.campaigns import Campaign, create_campaign, launch_campaign
from bot.consent.ledger import Ledger
from bot.consent.notifications import Sender
from bot.runtime import Runtime
from tests.conftest import free_port
from tests.emulator.harness import BotApiProxy, Emulator, TgUser, buttons_of, texts_of

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

TOKEN = "246810:CONSENT-test"
USER_ID = 5001


@pytest_asyncio.fixture(scope="module")
async def bot(emulator_ready, settings, redis_server, rasa_url, retriever):
    emulator = await Emulator(free_port()).start()
    proxy = await BotApiProxy(emulator.url).start(free_port())
    rt = await Runtime.create(
        settings.model_copy(update={"telegram_bot_token": TOKEN, "telegram_api_base": proxy.url}),
        redis_server.url,
        rasa_url,
        retriever,
    )
    jobs = [asyncio.create_task(job) for job in telegram.background(rt)]
    yield rt, emulator
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    await rt.close()
    await proxy.stop()
    await emulator.stop()


def _text(items: list[dict]) -> str:
    return "\n".join(texts_of(items))


async def test_subscribe_receive_unsubscribe_and_nothing_more(bot):
    rt, emulator = bot
    user = TgUser(emulator.url, TOKEN, USER_ID)
    client_id = f"tg:{USER_ID}"
    try:
        await user.say("подпишите меня на уведомления")
        got = await user.expect(lambda ms: any("Нажимая кнопку" in t for t in texts_of(ms)))
        assert "flow:consent:g:taxes" in [b["callback_data"] for b in buttons_of(got[-1])]
        await user.press("Налоги")
        await user.expect_text("Готово")
        assert "situation:taxes" in (await Ledger(rt.redis).state(client_id)).grants

        midday = datetime.now(ZoneInfo(rt.settings.notify_timezone)).replace(hour=12, minute=0)
        sender = Sender.for_runtime(rt, clock=lambda: midday.timestamp())
        stamp = time.time_ns()
        first = await create_campaign(
            rt.redis,
            Campaign(
                id=f"tg-usn-{stamp}",
                title="Срок УСН",
                category="content",
                life_situation="taxes",
                text="Напоминаем: до 25 апреля нужно подать декларацию по УСН.",
            ),
        )
        await launch_campaign(rt.redis, first.id)
        await sender.drain()
        got = await user.expect_text(first.text)
        assert "дали согласие: сообщения о мерах поддержки и услугах по теме «налоги»" in _text(got)
        message = next(m for m in got if first.text in m["message"].get("text", ""))
        assert buttons_of(message)[0]["text"] == "Отписаться"

        second = await create_campaign(
            rt.redis,
            Campaign(
                id=f"tg-usn2-{stamp}",
                title="Срок УСН 2",
                category="content",
                life_situation="taxes",
                text="Осталась неделя до срока подачи декларации по УСН.",
            ),
        )
        await launch_campaign(rt.redis, second.id)
        queued = consent_keys.notification(f"c:{second.id}:{client_id}")
        assert (await rt.redis.hgetall(queued))["status"] == "queued"  # queued, not yet sent

        await user.press("Отписаться")
        await user.expect_text("согласие отозвано")
        await sender.drain()
        assert (await rt.redis.hgetall(queued))["status"] == "skipped"

        third = await create_campaign(
            rt.redis,
            Campaign(
                id=f"tg-usn3-{stamp}",
                title="Срок УСН 3",
                category="content",
                life_situation="taxes",
                text="Завтра последний день подачи декларации по УСН.",
            ),
        )
        await launch_campaign(rt.redis, third.id)
        assert not await rt.redis.exists(
            consent_keys.notification(f"c:{third.id}:{client_id}")
        )  # no consent, not queued
        await sender.drain()
        # the sender has finished: whatever it would have sent is already with the emulator
        later = _text(await user.drain())
        assert second.text not in later and third.text not in later
    finally:
        await user.close()
