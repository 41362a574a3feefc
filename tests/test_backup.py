"""Backup and restore of the store (bot/store/backup.py) with the documented
commands: a store filled through the real app — a conversation in the middle
of an application form, a consent, a payment awaiting its money — is dumped,
the server is gone, the backup goes into a fresh Redis server, and a new
runtime on it continues all three. NLU is off (answers from the knowledge
base): the conversations here are buttons and form answers."""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from bot.consent.ledger import Ledger
from bot.payments.providers import Observed
from bot.payments.status import PaymentMethod, PaymentStatus
from bot.runtime import Runtime
from bot.settings import ROOT
from bot.store import connect
from bot.store.backup import BadBackup, check
from bot.store.redis_server import EmbeddedRedis
from tests import redis_topologies
from tests.chat import Chat
from tests.conftest import API_KEY

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
CLIENT = "backup-client"


def command(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot.store.backup …` as an administrator runs it, against REDIS_URL."""
    env = {**os.environ, "REDIS_URL": redis_url}
    return subprocess.run(
        [sys.executable, "-m", "bot.store.backup", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def api(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://assistant", headers={"X-Api-Key": API_KEY})


async def lifetimes(url: str) -> dict[bytes, int]:
    """Every key of the store → its remaining lifetime in ms (-1: none)."""
    redis = connect(url, text=False)
    try:
        return {key: await redis.pttl(key) async for key in redis.scan_iter(match="mb:*")}
    finally:
        await redis.aclose()


async def fill(runtime: Runtime) -> dict[str, object]:
    """The client mid-form, with a consent given and a QR payment not yet paid."""
    async with api(runtime) as http:
        form = Chat(http, cid="form", client_id=CLIENT)
        await form.press("do:start_application")
        await form.press("flow:app:f:grant_young")
        await form.say("ИП")
        assert "согласие на обработку персональных данных" in form.text()
        await form.press("flow:app:pd_yes")
        await form.say("Иванова Анна Сергеевна")
        assert "дата рождения" in form.text()

        news = Chat(http, cid="news", client_id=CLIENT)
        await news.press("do:give_consent")
        await news.press("flow:consent:g:support")
        assert "Готово" in news.text()

        pay = Chat(http, cid="pay", client_id=CLIENT)
        await pay.press("do:pay_fee")
        await pay.press("flow:pay:f:ooo_registration")
        await pay.press_title("Всё верно")
        await pay.press("flow:pay:m:qr")
        check_button = next(b["payload"] for b in pay.buttons() if "Проверить оплату" in b["title"])
    state = await runtime.engine.conversations.load(f"api:{KEY_ID}:pay")
    assert state is not None
    order = await runtime.payments.orders.get(state.flow_state["order"])
    assert order is not None and order.status is PaymentStatus.pending
    return {"order": order.id, "uin": order.uin, "check": check_button}


@pytest.mark.slow  # starts other programs (Redis servers, the backup command)
async def test_a_restored_store_continues_the_form_the_consent_and_the_payment(tmp_path, settings, retriever):
    backup = tmp_path / "store.backup"
    source = EmbeddedRedis(tmp_path / "source").start()
    try:
        runtime = await Runtime.create(settings, source.url, None, retriever)
        try:
            filled = await fill(runtime)
        finally:
            await runtime.close()
        before = await lifetimes(source.url)
        done = command(source.url, "dump", str(backup))
        assert done.returncode == 0, done.stderr
        assert f"Сохранено ключей: {len(before)}" in done.stdout
    finally:
        source.stop()  # the original server is gone: only the file remains
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # it holds personal data
    assert check(backup) == len(before)

    fresh = EmbeddedRedis(tmp_path / "fresh").start()
    try:
        assert await lifetimes(fresh.url) == {}
        done = command(fresh.url, "restore", str(backup))
        assert done.returncode == 0, done.stderr
        after = await lifetimes(fresh.url)
        assert after.keys() == before.keys()
        for key, ttl in before.items():  # lifetimes kept: no expiry stays none, a lifetime only shrinks
            assert (after[key] == -1) if ttl == -1 else (0 < after[key] <= ttl), key

        runtime = await Runtime.create(settings, fresh.url, None, retriever)
        try:
            async with api(runtime) as http:
                form = Chat(http, cid="form", client_id=CLIENT)
                await form.say("03.02.2004")  # the next answer of the form, where it stopped
                assert form.last["state"]["flow"] == "app" and "ИНН" in form.text()

                consents = await Ledger(runtime.redis).state(f"api:{KEY_ID}:{CLIENT}")
                assert "situation:support" in consents.grants
                news = Chat(http, cid="news", client_id=CLIENT)
                await news.press("do:consent_status")
                assert "Ваши согласия:" in news.text() and "меры поддержки" in news.text().lower()

                pay = Chat(http, cid="pay", client_id=CLIENT)
                await pay.press(str(filled["check"]))
                assert "пока не поступила" in pay.text()
                order = await runtime.payments.orders.get(str(filled["order"]))
                assert order is not None and order.uin == filled["uin"]
                await runtime.payments.apply(
                    order, Observed(status=PaymentStatus.paid), PaymentMethod.qr, announce=False
                )  # the bank's statement arrives
                await pay.press(str(filled["check"]))
                assert "Оплата получена" in pay.text() and str(filled["uin"]) in pay.text()
        finally:
            await runtime.close()

        # A second restore into a store that has data is refused, and changes nothing.
        keys_now = (await lifetimes(fresh.url)).keys()
        again = command(fresh.url, "restore", str(backup))
        assert again.returncode == 1 and "--replace" in again.stderr
        assert (await lifetimes(fresh.url)).keys() == keys_now
    finally:
        fresh.stop()


def test_an_incomplete_or_foreign_file_is_refused_before_anything_is_written(tmp_path):
    cut = tmp_path / "cut.backup"
    with gzip.open(cut, "wb") as out:
        out.write(b'{"format":"assistant-redis-backup","version":1,"created_at":1}\n')
        out.write(b'{"k":"bWI6eA==","x":0,"v":"AA=="}\n')  # no closing line: the dump was interrupted
    with pytest.raises(BadBackup, match="неполная"):
        check(cut)
    other = tmp_path / "other.json"
    other.write_text("{}")
    with pytest.raises(BadBackup):
        check(other)


def test_a_backup_file_is_private_even_where_it_existed(tmp_path):
    server = EmbeddedRedis(tmp_path / "r").start()
    try:
        target = tmp_path / "open.backup"
        target.write_text("old")
        target.chmod(0o644)
        done = command(server.url, "dump", str(target))
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE(Path(target).stat().st_mode) == 0o600 and check(target) == 0
    finally:
        server.stop()


@pytest.mark.slow  # starts other programs (Redis servers, the backup command)
@pytest.mark.skipif(bool(redis_topologies.missing_binaries()), reason=redis_topologies.missing_binaries())
async def test_a_backup_of_one_server_restores_into_a_cluster_and_is_dumped_from_every_master(
    tmp_path, settings, retriever
):
    source = EmbeddedRedis(tmp_path / "source").start()
    try:
        runtime = await Runtime.create(settings, source.url, None, retriever)
        try:
            await fill(runtime)
        finally:
            await runtime.close()
        assert command(source.url, "dump", str(tmp_path / "single.backup")).returncode == 0
        count = check(tmp_path / "single.backup")
    finally:
        source.stop()
    with redis_topologies.cluster() as found:
        done = command(found.url, "restore", str(tmp_path / "single.backup"))
        assert done.returncode == 0, done.stderr
        per_master = [n.client().dbsize() for n in found.nodes]
        assert sum(per_master) == count and sum(1 for n in per_master if n) > 1  # spread over the masters
        done = command(found.url, "dump", str(tmp_path / "cluster.backup"))
        assert done.returncode == 0, done.stderr
        assert check(tmp_path / "cluster.backup") == count  # every master's keys, none twice
        assert command(found.url, "restore", str(tmp_path / "single.backup")).returncode == 1  # not empty

        runtime = await Runtime.create(settings, found.url, None, retriever)
        try:
            async with api(runtime) as http:
                form = Chat(http, cid="form", client_id=CLIENT)
                await form.say("03.02.2004")
                assert form.last["state"]["flow"] == "app" and "ИНН" in form.text()
        finally:
            await runtime.close()
