"""End to end in a real browser: a client starts a conversation through the
HTTP API (uvicorn serving the real app), an operator logs in to the console
in headless Chromium, takes the conversation, replies; the client receives
the reply through the poll endpoint; the operator resolves and the bot
resumes and asks for a rating. Also: the CLI creates the operator."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from urllib.parse import quote, unquote

import httpx
import pytest

from bot.consent import keys as consent_keys
from bot.settings import ROOT
from handoff import keys as handoff_keys
from tests.conftest import API_KEY
from tests.console_kit import browser_sign_in, create_operator, csrf_of, sign_in, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


async def test_operator_takes_replies_and_resolves_in_the_browser(served, redis_server):
    from playwright.async_api import async_playwright, expect

    _runtime, base = served
    out = create_operator(redis_server.url, "anna", "correct horse battery")
    assert "anna" in out
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=30) as client:
        cid = f"e2e{int(time.time() * 1000)}"
        sent = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"text": "сколько стоит госпошлина за регистрацию ип"}
        )
        assert sent.status_code == 200
        handed = (
            await client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "соедините с оператором"})
        ).json()
        assert handed["replies"][0]["kind"] == "handoff" and handed["state"]["with_operator"] is True

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = await browser.new_page()
            try:
                await page.goto(f"{base}/console")  # not signed in → the login page
                await expect(page.get_by_role("heading", name="Вход в консоль оператора")).to_be_visible()
                await page.get_by_label("Имя пользователя").fill("anna")
                await page.get_by_label("Пароль").fill("wrong password")
                await page.get_by_role("button", name="Войти").click()
                await expect(page.get_by_role("alert")).to_contain_text("Неверное имя или пароль")
                await page.get_by_label("Имя пользователя").fill("anna")
                await page.get_by_label("Пароль").fill("correct horse battery")
                await page.get_by_role("button", name="Войти").click()
                await expect(page.get_by_role("heading", name="Очередь")).to_be_visible()

                # a second client asks for an operator while the queue page is open: it appears live
                late = f"x{cid}"
                await client.post(f"/api/v1/conversations/{late}/messages", json={"text": "позовите оператора"})
                await expect(page.get_by_role("link", name="api:", exact=False).filter(has_text=late)).to_be_visible()

                row = page.get_by_role("row").filter(has_text=f":{cid}")
                await row.get_by_role("button", name="Взять").click()
                await expect(page.get_by_role("heading", name="Кратко")).to_be_visible()
                summary = page.locator(".summary")
                await expect(summary).to_contain_text("сколько стоит госпошлина за регистрацию ип")
                await expect(summary).to_contain_text("клиент попросил соединить с оператором")
                await expect(page.locator("#history")).to_contain_text("Источник:")

                # the client writes while the operator is on the page: it appears live, the bot is silent
                silent = (
                    await client.post(
                        f"/api/v1/conversations/{cid}/messages", json={"text": "я уже оплатил, что дальше?"}
                    )
                ).json()
                assert silent["replies"] == [] and silent["state"]["with_operator"] is True
                await expect(page.locator("#history")).to_contain_text("я уже оплатил, что дальше?")

                # a quick answer from the knowledge base fills the reply box
                await page.get_by_label("Быстрый ответ из базы знаний").select_option("registration_fee")
                await page.get_by_role("button", name="Вставить в ответ").click()
                await expect(page.get_by_label("Ваш ответ клиенту")).not_to_be_empty()
                await page.get_by_label("Ваш ответ клиенту").fill("Здравствуйте! Дальше ждите письмо из налоговой.")
                await page.get_by_role("button", name="Отправить").click()
                await expect(page.locator("#history")).to_contain_text("Дальше ждите письмо из налоговой.")

                async def operator_reply():
                    body = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()
                    return [r for r in body["replies"] if r["kind"] == "operator"]

                got = await wait_for(operator_reply, "the operator's reply in the client's poll endpoint")
                assert got[0]["text"] == "Здравствуйте! Дальше ждите письмо из налоговой."

                await page.get_by_role("button", name="Завершить разговор").click()
                await expect(page.get_by_role("status").filter(has_text="Разговор завершён")).to_be_visible()
            finally:
                await browser.close()

        async def rating_question():
            body = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()
            return [r for r in body["replies"] if r["kind"] == "flow" and "оцените" in r["text"]]

        asked = await wait_for(rating_question, "the rating question after the operator resolved")
        assert "flow:rating:s4" in [b["payload"] for b in asked[0]["buttons"]]
        rated = (await client.post(f"/api/v1/conversations/{cid}/messages", json={"payload": "flow:rating:s4"})).json()
        assert rated["state"] == {"flow": "rating", "with_operator": False} and "легко" in rated["replies"][0]["text"]
        back = (await client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "как закрыть ип"})).json()
        assert back["state"]["with_operator"] is False and any(r["kind"] == "answer" for r in back["replies"])


async def test_console_requires_login_and_csrf(served, redis_server):
    _runtime, base = served
    create_operator(redis_server.url, "boris", "another good password")
    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30) as web:
        assert (await web.get("/console")).headers["location"] == "/console/login"
        form = (await web.get("/console/login")).text
        token = csrf_of(form)
        # a login form posted without its token (e.g. from another site) is refused
        bad = await web.post("/console/login", data={"username": "boris", "password": "another good password"})
        assert "устарела" in bad.headers["location"] or "%D1%83%D1%81%D1%82" in bad.headers["location"]
        ok = await web.post(
            "/console/login", data={"username": "boris", "password": "another good password", "csrf": token}
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/console"
        assert (await web.get("/console")).status_code == 200
        forged = await web.post("/console/claim", data={"csrf": "forged"})
        assert forged.status_code == 403 and "обновите страницу" in forged.text
        super_only = await web.get("/console/supervisor")
        assert super_only.status_code == 403 and "руководителя" in super_only.text


async def test_supervisor_sees_the_shift_and_operators_see_callbacks(served, redis_server):
    _runtime, base = served
    create_operator(redis_server.url, "vera", "supervisor password", role="supervisor")
    async with httpx.AsyncClient(base_url=base, timeout=30) as web:
        token = csrf_of((await web.get("/console/login")).text)
        await web.post("/console/login", data={"username": "vera", "password": "supervisor password", "csrf": token})
        shift = await web.get("/console/supervisor")
        assert shift.status_code == 200
        for words in ("В очереди", "Дольше всех ждёт", "Решено (завершено)", "Передач между операторами", "vera"):
            assert words in shift.text
        callbacks = await web.get("/console/callbacks")
        assert callbacks.status_code == 200 and "Обратные звонки" in callbacks.text


def test_the_cli_refuses_a_short_password(redis_server):
    env = {**os.environ, "REDIS_URL": redis_server.url}
    done = subprocess.run(
        [sys.executable, "-m", "handoff.users", "add", "gleb"],
        input="short\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 1 and "не короче 8 символов" in done.stderr


async def test_the_client_panel_shows_consents_from_the_ledger(served, redis_server):
    _runtime, base = served
    create_operator(redis_server.url, "galina", "operator galina password")
    cid = f"consents{int(time.time() * 1000)}"
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=30) as client:

        async def send(**body) -> dict:
            resp = await client.post(f"/api/v1/conversations/{cid}/messages", json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()

        await send(payload="do:request_callback")
        await send(payload="flow:callback:yes")  # consent to keep the phone number: a ledger record
        handed = await send(text="соедините с оператором")
        assert handed["state"]["with_operator"] is True
    async with httpx.AsyncClient(base_url=base, timeout=30) as web:
        token = csrf_of((await web.get("/console/login")).text)
        await web.post(
            "/console/login", data={"username": "galina", "password": "operator galina password", "csrf": token}
        )
        key_id = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
        page = await web.get(f"/console/c/{quote(f'api:{key_id}:{cid}', safe='')}")
    assert page.status_code == 200
    panel = page.text.split("<h3>Согласия</h3>")[1]
    assert "Персональные данные: обратный звонок" in panel and "pd_callback, версия 1" in panel
    assert "через приложение" in panel
    assert '"grants"' not in page.text  # the profile's cached state is not dumped raw


async def test_supervisor_creates_and_launches_a_campaign_in_the_browser(served, redis_server):
    """Issue 5: a campaign made in the console reaches the consenting client (through the API
    poll endpoint) and not the one who agreed to another topic; operators may not open the page."""
    from playwright.async_api import async_playwright, expect

    from bot.consent.campaigns import delivery_counts, list_campaigns
    from bot.consent.notifications import Sender

    runtime, base = served
    create_operator(redis_server.url, "darya", "supervisor darya password", role="supervisor")
    create_operator(redis_server.url, "egor", "operator egor password")
    stamp = int(time.time() * 1000)
    agreed, other = f"camp-yes{stamp}", f"camp-no{stamp}"
    text = f"До 25-го числа подайте декларацию по УСН ({stamp})."
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=30) as client:

        async def send(cid: str, **body) -> dict:
            resp = await client.post(f"/api/v1/conversations/{cid}/messages", json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()

        for cid, topic in ((agreed, "taxes"), (other, "support")):
            await send(cid, payload="do:give_consent")
            assert "Готово" in (await send(cid, payload=f"flow:consent:g:{topic}"))["replies"][0]["text"]
        cursors = {
            cid: (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["cursor"] for cid in (agreed, other)
        }

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = await browser.new_page()
            try:
                await browser_sign_in(page, base, "darya", "supervisor darya password")
                await page.goto(f"{base}/console/supervisor")
                await page.get_by_role("link", name="Рассылки клиентам", exact=False).click()
                await expect(page.get_by_role("heading", name="Новая рассылка")).to_be_visible()
                await page.get_by_label("Название (видят только сотрудники)").fill(f"Срок УСН {stamp}")
                await page.get_by_label("Текст сообщения клиентам").fill(text)
                await page.get_by_label("Тип рассылки").select_option("trigger")
                await page.get_by_label("Тема (жизненная ситуация)").select_option("taxes")
                await page.get_by_role("button", name="Сохранить и показать охват").click()
                status = page.get_by_role("status")
                await expect(status).to_contain_text("сохранена, но ещё не отправлена")
                await expect(status).to_contain_text("Её получат клиентов:")
                row = page.get_by_role("row").filter(has_text=f"Срок УСН {stamp}")
                await row.get_by_role("button", name="Разослать").click()
                await expect(status).to_contain_text("запущена. Поставлено в очередь сообщений:")
                row = page.get_by_role("row").filter(has_text=f"Срок УСН {stamp}")
                await expect(row).to_contain_text("разослана")
                campaign_id = next(c.id for c in await list_campaigns(runtime.redis) if c.title == f"Срок УСН {stamp}")

                # the sender (a background task of the real app) delivers it; quiet hours off for the test
                await Sender.for_runtime(runtime, default_quiet="off").drain()

                async def received():
                    body = (
                        await client.get(f"/api/v1/conversations/{agreed}/messages", params={"after": cursors[agreed]})
                    ).json()
                    return [r for r in body["replies"] if text in r["text"]]

                [message] = await wait_for(received, "the campaign in the consenting client's poll endpoint")
                assert "налоги" in message["text"] and message["buttons"][0]["title"] == "Отписаться"
                missed = (
                    await client.get(f"/api/v1/conversations/{other}/messages", params={"after": cursors[other]})
                ).json()
                assert not [r for r in missed["replies"] if text in r["text"]]

                # sent to the consenting client; the one without consent on this topic was never
                # queued (other clients of this test run may have agreed to «all topics»)
                records = await runtime.redis.keys(consent_keys.notification(f"c:{campaign_id}:*"))
                statuses = {k: await runtime.redis.hget(k, "status") for k in records}
                assert [v for k, v in statuses.items() if k.endswith(agreed)] == ["sent"]
                assert not [k for k in statuses if k.endswith(other)]
                assert (await delivery_counts(runtime.redis, campaign_id)).get("sent", 0) >= 1
                await page.reload()
                row = page.get_by_role("row").filter(has_text=f"Срок УСН {stamp}")
                await expect(row.get_by_role("cell").nth(5)).to_have_text(re.compile(r"^[1-9]\d*$"))  # «Отправлено»
            finally:
                await browser.close()

    async with httpx.AsyncClient(base_url=base, timeout=30) as web:
        token = csrf_of((await web.get("/console/login")).text)
        await web.post("/console/login", data={"username": "egor", "password": "operator egor password", "csrf": token})
        denied = await web.get("/console/campaigns")
        assert denied.status_code == 403 and "руководитель смены" in denied.text
        csrf = csrf_of((await web.get("/console")).text)
        forged = await web.post(
            "/console/campaigns",
            data={"csrf": csrf, "title": "Не моё", "category": "content", "text": "Оператор не может разослать это."},
        )
        assert forged.status_code == 403


async def test_password_guessing_locks_the_account_for_a_while(served, redis_server):
    runtime, base = served
    create_operator(redis_server.url, "lida", "lida real password")
    create_operator(redis_server.url, "mark", "mark real password")

    async def sign_in_to(web: httpx.AsyncClient, name: str, password: str) -> str:
        return unquote((await sign_in(web, name, password)).headers["location"])

    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30) as web:
        for attempt in range(5):
            assert "Неверное имя или пароль" in await sign_in_to(web, "lida", f"guess {attempt}")
        # now even the right password is not checked until the window ends
        refused = await sign_in_to(web, "lida", "lida real password")
        assert "Слишком много неудачных попыток" in refused and "15 мин" in refused
        # another account from the same address still signs in, and that clears nothing for lida
        assert await sign_in_to(web, "mark", "mark real password") == "/console"
        ttl = await runtime.redis.ttl(handoff_keys.console_account_failures("lida"))
        assert 0 < ttl <= 15 * 60
        # a supervisor sets a new password: that lifts the lock at once
        create_operator(redis_server.url, "lida", "lida new password")
        assert await sign_in_to(web, "lida", "lida new password") == "/console"


async def test_an_operator_sets_their_introduction_in_the_browser(served, redis_server):
    from playwright.async_api import async_playwright, expect

    runtime, base = served
    create_operator(redis_server.url, "irina", "irina browser password")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = await browser.new_page()
        try:
            await browser_sign_in(page, base, "irina", "irina browser password")
            await page.get_by_role("link", name="Мой профиль").click()
            await expect(page.get_by_role("heading", name="Мой профиль")).to_be_visible()
            await page.get_by_label("Имя, как его увидит клиент").fill("Ирина Волкова")
            await page.get_by_label("Должность").fill("консультант по господдержке")
            await page.get_by_role("button", name="Сохранить").click()
            await expect(page.get_by_role("status")).to_contain_text("Сохранено")
            await expect(page.locator(".preview")).to_contain_text(
                "Меня зовут Ирина Волкова, я консультант по господдержке"
            )
            await page.get_by_label("Должность").fill("см. www.example.com")
            await page.get_by_role("button", name="Сохранить").click()
            await expect(page.get_by_role("alert")).to_contain_text("без ссылок")
        finally:
            await browser.close()
    irina = await runtime.handoff.users.get("irina")
    assert (irina.full_name, irina.position) == ("Ирина Волкова", "консультант по господдержке")
