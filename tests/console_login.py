"""Signing in to the operator console the way a person does: through the real
login form (its CSRF cookie and hidden field). The one place tests outside the
console's own do it, so a change to the console's login has one helper to follow."""

from __future__ import annotations

import re

import httpx

from handoff.users import Role, UserStore

_CSRF_FIELD = re.compile(r"""<input[^>]*name=["']csrf["'][^>]*value=["']([^"']+)["']""")


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on a console page."""
    found = _CSRF_FIELD.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(web: httpx.AsyncClient, redis, name: str, password: str,
                  role: Role | str = Role.operator) -> str:
    """Create the user, sign in with `web` (it keeps the cookies) and return the
    CSRF token the signed-in console's forms carry."""
    await UserStore(redis).add(name, password, role)
    token = csrf_of((await web.get("/console/login")).text)
    resp = await web.post("/console/login", data={"username": name, "password": password, "csrf": token})
    assert resp.status_code == 303 and resp.headers["location"] == "/console", resp.headers.get("location")
    queue = await web.get("/console")
    assert queue.status_code == 200, queue.text[:300]
    return csrf_of(queue.text)
