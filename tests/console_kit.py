"""Helpers the operator console's tests share (the console itself is served
by the `served` fixture in conftest.py): create an account through the CLI,
sign in through the login form, wait for something to happen."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import httpx

from bot.settings import ROOT
from handoff.users import Role, UserStore


async def wait_for(check, what: str, timeout: float = 20.0):
    """Poll `check` until it returns something truthy, or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def create_operator(redis_url: str, name: str, password: str, role: str = "operator") -> str:
    env = {**os.environ, "REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "handoff.users", "add", name, "--role", role],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_CSRF_FIELD = re.compile(r"""<input[^>]*name=["']csrf["'][^>]*value=["']([^"']+)["']""")


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on a console page (the login form's, too)."""
    found = _CSRF_FIELD.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(web: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    """Through the real login form (its CSRF cookie and token); the response is the redirect."""
    token = csrf_of((await web.get("/console/login")).text)
    return await web.post(
        "/console/login", data={"username": name, "password": password, "csrf": token}, follow_redirects=False
    )


async def signed_in(web: httpx.AsyncClient, redis, name: str, password: str, role: Role | str = Role.operator) -> str:
    """Create the user, sign in with `web` (it keeps the cookies) and return the
    CSRF token the signed-in console's forms carry."""
    user = await UserStore(redis).add(name, password, role)
    home = "/console" if user.role.sees_clients else "/console/content"  # a content editor's pages
    resp = await sign_in(web, name, password)
    assert resp.status_code == 303 and resp.headers["location"] == home, resp.headers.get("location")
    queue = await web.get(home)
    assert queue.status_code == 200, queue.text[:300]
    return csrf_of(queue.text)


async def browser_sign_in(page, base: str, name: str, password: str) -> None:
    """Through the login form in a browser page (Playwright); it lands where the role starts."""
    await page.goto(f"{base}/console/login")
    await page.get_by_label("Имя пользователя").fill(name)
    await page.get_by_label("Пароль").fill(password)
    await page.get_by_role("button", name="Войти").click()
