"""Scenario helpers: a client talking to the assistant through the HTTP API."""

from __future__ import annotations

import itertools

import httpx

_ids = itertools.count(1)


class Chat:
    def __init__(self, api: httpx.AsyncClient, cid: str | None = None, client_id: str | None = None):
        self.api = api
        self.cid = cid or f"t{next(_ids)}"
        self.client_id = client_id
        self.last: dict = {}

    async def _post(self, body: dict, idempotency_key: str | None = None) -> dict:
        if self.client_id:
            body["client_id"] = self.client_id
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        resp = await self.api.post(f"/api/v1/conversations/{self.cid}/messages", json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        self.last = resp.json()
        return self.last

    async def say(self, text: str, idempotency_key: str | None = None) -> dict:
        return await self._post({"text": text}, idempotency_key)

    async def press(self, payload: str) -> dict:
        return await self._post({"payload": payload})

    async def press_title(self, fragment: str) -> dict:
        for button in self.buttons():
            if fragment.lower() in button["title"].lower():
                return await self.press(button["payload"])
        raise AssertionError(f"no button with {fragment!r} in {self.buttons()}")

    def kinds(self) -> list[str]:
        return [r["kind"] for r in self.last["replies"]]

    def buttons(self, kind: str | None = None) -> list[dict]:
        return [b for r in self.last["replies"] if kind is None or r["kind"] == kind for b in r["buttons"]]

    def text(self) -> str:
        return "\n".join(r["text"] for r in self.last["replies"])

    def answered_topic(self) -> str | None:
        for reply in self.last["replies"]:
            if reply["kind"] == "answer":
                return reply["faq_id"]
        return None
