"""Helpers the operator console's tests share (the console itself is served
by the `served` fixture in conftest.py): create an account through the CLI,
sign in through the login form, wait for something to happen."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx

from bot.settings import ROOT

ALWAYS_OPEN = ("timezone: Asia/Kamchatka\ntimezone_title: по камчатскому времени\nweek:\n"
               + "".join(f"  {d}: ['00:00-24:00']\n" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")))


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
    done = subprocess.run([sys.executable, "-m", "handoff.users", "add", name, "--role", role],
                          input=password + "\n", capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def login_csrf(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


async def sign_in(web: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    """Through the real login form (its CSRF cookie and token); the response is the redirect."""
    token = login_csrf((await web.get("/console/login")).text)
    return await web.post("/console/login", data={"username": name, "password": password, "csrf": token},
                          follow_redirects=False)
