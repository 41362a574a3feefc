"""The operator console against a hostile user, an operator who looks where
they should not, and a local admin with a copy of the data: sign-in guessing
in parallel, sessions that die on logout and on a new password, nothing in
Redis that signs a session, security headers, safe redirects, and live
messages only for the conversation's own operator (also after it moves)."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import websockets

from handoff import keys as handoff_keys
from handoff.presence import Presence
from tests.conftest import API_KEY
from tests.console_kit import create_operator, csrf_of, sign_in


async def all_redis_text(redis) -> str:
    """Every key and value in the store, as one string to search (a local admin's copy)."""
    parts = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        parts.append(key)
        if kind == "string":
            parts.append(await redis.get(key) or "")
        elif kind == "hash":
            parts.append(json.dumps(await redis.hgetall(key), ensure_ascii=False))
        elif kind == "list":
            parts.extend(await redis.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(await redis.smembers(key))
        elif kind == "zset":
            parts.extend(await redis.zrange(key, 0, -1))
        elif kind == "stream":
            parts.extend(json.dumps(f, ensure_ascii=False) for _, f in await redis.xrange(key))
    return "\n".join(parts)


def session_cookie(web: httpx.AsyncClient) -> str:
    return web.cookies.get("console_session")


async def test_thirty_parallel_guesses_get_five_password_checks(served, redis_server):
    """Each attempt is admitted and counted before its password is checked (one Lua step)."""
    _, base = served
    create_operator(redis_server.url, "pavel", "pavel real password")
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as web:
        token = csrf_of((await web.get("/console/login")).text)

        async def attempt(password: str) -> str:
            resp = await web.post("/console/login", data={"username": "pavel", "password": password, "csrf": token})
            return unquote(resp.headers["location"])

        results = await asyncio.gather(*(attempt(f"guess number {i}") for i in range(30)))
        right = await attempt("pavel real password")
    checked = [r for r in results if "Неверное имя или пароль" in r]
    refused = [r for r in results if "Слишком много неудачных попыток" in r]
    assert len(checked) == 5 and len(refused) == 25
    assert "Слишком много неудачных попыток" in right  # the lock holds: even the right one is not checked


async def test_logout_and_a_new_password_end_the_session_everywhere(served, redis_server):
    _, base = served
    create_operator(redis_server.url, "rita", "rita first password")
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
        assert (await sign_in(web, "rita", "rita first password")).headers["location"] == "/console"
        cookie = session_cookie(web)
        csrf = csrf_of((await web.get("/console")).text)
        assert (await web.post("/console/logout", data={"csrf": csrf})).headers["location"] == "/console/login"
    async with httpx.AsyncClient(
        base_url=base, timeout=30, follow_redirects=False, cookies={"console_session": cookie}
    ) as replay:
        assert (await replay.get("/console")).headers["location"] == "/console/login"  # the copy is dead too

    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
        await sign_in(web, "rita", "rita first password")
        assert (await web.get("/console")).status_code == 200
        create_operator(redis_server.url, "rita", "rita second password")  # e.g. a supervisor resets it
        assert (await web.get("/console")).headers["location"] == "/console/login"


async def test_a_copy_of_the_store_cannot_be_turned_into_a_session(served, redis_server, settings):
    runtime, base = served
    create_operator(redis_server.url, "sofia", "sofia supervisor password", role="supervisor")
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
        await sign_in(web, "sofia", "sofia supervisor password")
        cookie = session_cookie(web)
    dump = await all_redis_text(runtime.redis)
    assert cookie not in dump  # only a keyed hash of it is stored
    secret_file = Path(settings.data_dir) / "secrets" / "console.key"
    assert secret_file.read_text().strip() not in dump  # the key lives outside the store
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    stored = [
        k.removeprefix(handoff_keys.console_session(""))
        async for k in runtime.redis.scan_iter(handoff_keys.console_session("*"))
    ]
    assert stored
    for sid in stored:  # what a local admin could read does not sign in
        async with httpx.AsyncClient(
            base_url=base, timeout=30, follow_redirects=False, cookies={"console_session": sid}
        ) as forged:
            assert (await forged.get("/console/supervisor")).headers["location"] == "/console/login"


async def test_console_pages_tell_the_browser_to_protect_them(served):
    _, base = served
    async with httpx.AsyncClient(base_url=base, timeout=30) as web:
        for path in ("/console/login", "/console/static/console.js"):
            headers = (await web.get(path)).headers
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin" and headers["cache-control"] == "no-store"


async def test_the_presence_form_never_sends_the_browser_elsewhere(served, redis_server):
    _, base = served
    create_operator(redis_server.url, "taras", "taras real password")
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
        await sign_in(web, "taras", "taras real password")
        csrf = csrf_of((await web.get("/console")).text)
        for referer in (f"{base}//evil.example/steal", "https://evil.example/console", f"{base}/console\\@evil"):
            resp = await web.post(
                "/console/presence", data={"csrf": csrf, "presence": "away"}, headers={"Referer": referer}
            )
            assert resp.status_code == 303 and resp.headers["location"] == "/console"
        back = await web.post(
            "/console/presence",
            data={"csrf": csrf, "presence": "online"},
            headers={"Referer": f"{base}/console/callbacks"},
        )
        assert back.headers["location"] == "/console/callbacks"
        bogus = await web.post("/console/presence", data={"csrf": csrf, "presence": "bogus"})
        assert bogus.status_code == 303 and "Такого статуса нет" in unquote(bogus.headers["location"])


async def _ws(base: str, cookie: str, cid: str = ""):
    url = base.replace("http://", "ws://") + f"/console/ws?cid={cid}"
    return await websockets.connect(url, additional_headers={"Cookie": f"console_session={cookie}", "Origin": base})


async def _next_message(ws, timeout: float = 10.0) -> dict | None:
    """The next client/operator message on this socket, or None when it was closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except websockets.ConnectionClosed:
            return None
        if event["type"] == "message":
            return event
    raise AssertionError("no message on the console socket")


async def test_live_messages_reach_only_the_conversations_operator(served, redis_server):
    runtime, base = served
    for name, role in (("uma", "operator"), ("yan", "operator"), ("zoya", "supervisor")):
        create_operator(redis_server.url, name, f"{name} long password", role=role)
    cookies = {}
    for name in ("uma", "yan", "zoya"):
        async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
            await sign_in(web, name, f"{name} long password")
            cookies[name] = session_cookie(web)
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=60) as client:
        conv = f"ws{int(time.time() * 1000)}"
        await client.post(f"/api/v1/conversations/{conv}/messages", json={"text": "оператор"})
        cid = next(
            t.conversation_id for t in await runtime.handoff.queue.waiting() if t.conversation_id.endswith(f":{conv}")
        )
        await runtime.handoff.claim("uma", cid)

        with pytest.raises(websockets.InvalidStatus):  # yan may not even subscribe to uma's client
            await (await _ws(base, cookies["yan"], cid)).recv()
        mine, boss = await _ws(base, cookies["uma"], cid), await _ws(base, cookies["zoya"], cid)
        try:
            await client.post(f"/api/v1/conversations/{conv}/messages", json={"text": "мой ИНН 7707083893"})
            assert (await _next_message(mine))["text"] == "мой ИНН 7707083893"
            assert (await _next_message(boss))["text"] == "мой ИНН 7707083893"

            await runtime.handoff.presence.set("yan", Presence.online)
            await runtime.handoff.transfer("uma", cid, "yan")  # uma's page must go quiet now
            await client.post(f"/api/v1/conversations/{conv}/messages", json={"text": "паспорт 4510 123456"})
            assert await _next_message(mine) is None
            assert mine.close_code == 4403
            # the bot's «передаю коллеге», the colleague introducing themselves, then the client:
            seen = [(await _next_message(boss))["text"] for _ in range(3)]
            assert seen[2] == "паспорт 4510 123456"  # supervisors see every conversation
        finally:
            await mine.close()
            await boss.close()


async def test_the_console_socket_refuses_the_signed_out_and_other_sites(served):
    _, base = served
    url = base.replace("http://", "ws://") + "/console/ws"
    for headers in (
        {"Cookie": "console_session=made-up"},
        {"Cookie": "console_session=made-up", "Origin": "https://evil.example"},
    ):
        with pytest.raises(websockets.InvalidStatus):
            await (await websockets.connect(url, additional_headers=headers)).recv()


async def test_operators_edit_their_own_introduction_and_a_supervisor_anyones(served, redis_server):
    """The name and position a client reads on joining: an operator edits only their own, a
    supervisor anyone's; markup and links are refused, what is shown is escaped, and who
    changed it is kept."""
    runtime, base = served
    create_operator(redis_server.url, "oksana", "oksana real password")
    create_operator(redis_server.url, "pavel", "pavel real password")
    create_operator(redis_server.url, "vera", "vera real password", role="supervisor")
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
        await sign_in(web, "oksana", "oksana real password")
        form = await web.get("/console/profile")
        assert form.status_code == 200 and "Мой профиль" in form.text
        csrf = csrf_of(form.text)
        saved = await web.post(
            "/console/profile",
            data={"csrf": csrf, "full_name": " Ольга  Смирнова ", "position": "консультант по налогам"},
        )
        assert saved.status_code == 303 and "Сохранено" in unquote(saved.headers["location"])
        oksana = await runtime.handoff.users.get("oksana")
        assert (oksana.full_name, oksana.position) == ("Ольга Смирнова", "консультант по налогам")
        page = (await web.get("/console/profile")).text
        assert "Меня зовут Ольга Смирнова, я консультант по налогам" in page and "Последнее изменение: oksana" in page

        for full_name, position in (("<b>Ольга</b>", ""), ("Ольга", "пишите на evil.example"), ("", "консультант")):
            refused = await web.post(
                "/console/profile", data={"csrf": csrf, "full_name": full_name, "position": position}
            )
            assert refused.status_code == 303 and "error=" in refused.headers["location"], (full_name, position)
        assert (await runtime.handoff.users.get("oksana")).full_name == "Ольга Смирнова"  # unchanged
        shown = (await web.get(refused.headers["location"])).text
        assert "Укажите и имя" in shown

        assert (await web.get("/console/profile?user=pavel")).status_code == 403  # not another's
        other = await web.post(
            "/console/profile", data={"csrf": csrf, "user": "pavel", "full_name": "Павел", "position": "юрист"}
        )
        assert other.status_code == 403 and (await runtime.handoff.users.get("pavel")).full_name == ""
        no_token = await web.post("/console/profile", data={"full_name": "Ольга", "position": "юрист"})
        assert no_token.status_code == 403

    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as web:
        await sign_in(web, "vera", "vera real password")
        shift = (await web.get("/console/supervisor")).text
        assert 'href="/console/profile?user=pavel"' in shift
        form = await web.get("/console/profile?user=pavel")
        assert form.status_code == 200 and "Профиль сотрудника pavel" in form.text
        saved = await web.post(
            "/console/profile",
            data={
                "csrf": csrf_of(form.text),
                "user": "pavel",
                "full_name": "Павел Д'Анджело",
                "position": "юрист «Мой бизнес»",
            },
        )
        assert saved.headers["location"].startswith("/console/profile?user=pavel&note=")
        page = (await web.get("/console/profile?user=pavel")).text
        assert "Д&#39;Анджело" in page and "Д'Анджело" not in page  # what staff typed is escaped
        assert "Последнее изменение: vera" in page
        pavel = await runtime.handoff.users.get("pavel")
        assert (pavel.full_name, pavel.position) == ("Павел Д'Анджело", "юрист «Мой бизнес»")
        assert (await web.get("/console/profile?user=nobody")).status_code == 404
