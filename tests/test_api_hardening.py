"""Client input never gets a 5xx (R-20, R-22): each case here once did.

Odd Unicode, numbers that overflow, oversized bodies, reused idempotency
keys, floods from one API key — each is refused with a 4xx that says in
Russian what to do, and the conversation keeps working."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from bot.applications.validators import Invalid, parse_inn, parse_ogrn
from bot.channels.api import BLANKS, NOT_BLANK
from bot.core import phones
from bot.core.numbers import digits_of, is_digits, parse_epoch, parse_int
from bot.payments import uin
from bot.store import keys
from handoff.delivery import CURSOR
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.console_kit import signed_in
from tests.schedule_kit import ALWAYS

URL = "/api/v1/conversations/{}/messages"
CYRILLIC = re.compile(r"[а-яё]{4,}", re.I)
KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]


def explained(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert CYRILLIC.search(body["message"]), body
    return body


# ------------------------------------------------------------ odd Unicode
@pytest.mark.parametrize(
    "raw",
    [
        rb'{"text": "\ud800"}',
        rb'{"text": "hi \udfff there"}',
        rb'{"payload": "faq:\ud83d"}',
        rb'{"text": "hi", "client_id": "\udc00"}',
    ],
)
async def test_a_lone_surrogate_is_refused_in_words(api, raw):
    resp = await api.post(URL.format("sur1"), content=raw, headers={"Content-Type": "application/json"})
    assert "символ" in explained(resp, 422)["message"]


async def test_strict_types_and_unknown_fields_are_refused_in_words(api):
    for body, fragment in [
        ({"text": 123}, "строка"),
        ({"payload": 5}, "строка"),
        ({"text": True}, "строка"),
        ({"text": "привет", "client_id": 7}, "строка"),
        ({"text": ["a"]}, "строка"),
        ({"text": "привет", "clientId": "c1"}, "clientId"),
        ({"text": None, "payload": None}, "text"),
        ({"payload": ""}, "payload"),
        ({"text": " ", "payload": "do:cancel"}, "пуст"),
    ]:
        resp = await api.post(URL.format("types1"), json=body)
        assert fragment in explained(resp, 422)["message"], body


async def test_a_body_in_no_text_encoding_is_malformed_json_in_words(api):
    resp = await api.post(
        URL.format("bytes1"),
        content=b"\xff\xfe\x00\xd8p&\x9c\xe1cY)\xb32",
        headers={"Content-Type": "application/json"},
    )
    assert "JSON" in explained(resp, 422)["message"]


async def test_the_schema_states_what_the_server_accepts(api):
    spec = (await api.get("/openapi.json")).json()
    body = spec["components"]["schemas"]["MessageIn"]
    assert body["additionalProperties"] is False
    assert {tuple(branch["required"]) for branch in body["anyOf"]} == {("text",), ("payload",)}
    text = next(s for s in body["properties"]["text"]["anyOf"] if s.get("type") == "string")
    assert (text["minLength"], text["maxLength"], text["pattern"]) == (1, 4096, NOT_BLANK)
    poll = spec["paths"][URL.format("{conversation_id}")]["get"]
    after = next(p for p in poll["parameters"] if p["name"] == "after")
    assert any(s.get("pattern") == CURSOR for s in after["schema"]["anyOf"])
    post = spec["paths"][URL.format("{conversation_id}")]["post"]
    assert {"409", "413", "422", "429"} <= set(post["responses"])
    assert [s["name"] for s in spec["components"]["securitySchemes"].values()] == ["X-Api-Key"]
    assert not [p for p in spec["paths"] if p.startswith("/console")]  # pages for people, not the API


def test_blank_means_exactly_what_str_strip_removes():
    assert set(BLANKS) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_numbers_from_clients_are_ascii_digits_in_range():
    assert [parse_epoch(v) for v in ("1796063400", "²", "١٢٣", "99999999999", "0", "", "-1", " 1")] == [
        1796063400,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert parse_int("0042", max_digits=4) == 42 and parse_int("12345", max_digits=4) is None
    assert digits_of("+7 (914) ١٢٣-45-67²") == "7914" + "4567" and not is_digits("")


# ------------------------------------------------------------ poll cursor
@pytest.mark.parametrize(
    "after",
    [
        "99999999999999999999999-0",  # more digits than any stream id
        "99999999999999999999-0",  # 20 digits, above 2^64
        "18446744073709551616-0",  # 2^64 exactly
        "0-99999999999999999999",
        "0" * 40,
        "١٢٣-0",  # non-ASCII digits
    ],
)
async def test_a_poll_cursor_out_of_range_is_refused_in_words(api, after):
    resp = await api.get(URL.format("poll1"), params={"after": after})
    assert "after" in explained(resp, 422)["message"]


async def test_the_largest_valid_cursor_and_an_empty_one_are_accepted(api):
    for after in ("9999999999999999999-9999999999999999999", "0000000000000000000-0", ""):
        resp = await api.get(URL.format("poll2"), params={"after": after})
        assert resp.status_code == 200, resp.text
        assert resp.json()["replies"] == []


# ---------------------------------------- numbers in payloads and typed text
ODD_NUMBERS = ["²", "¹²³", "١٢٣٤٥٦٧٨٩٠", "99999999999999999999", "-5", "1e9", " 12", ""]


async def test_booking_buttons_with_odd_numbers_never_fail(api):
    for odd in ODD_NUMBERS:
        chat = Chat(api)
        await chat.press("flow:booking:book")
        await chat.press("flow:booking:t:registration")
        assert chat.last["state"]["flow"] == "booking"
        for payload in (f"flow:booking:s:{odd}", f"flow:booking:more:{odd}"):
            await chat.press(payload)  # Chat asserts 200
            if chat.last["state"]["flow"] == "booking" and any(
                b["payload"] == "flow:booking:pd_yes" for b in chat.buttons()
            ):
                await chat.press("flow:booking:pd_yes")
            assert chat.last["replies"], payload
        await chat.press("do:cancel")
        assert chat.last["state"]["flow"] is None


@pytest.fixture
def open_desk(runtime):
    svc = runtime.handoff
    saved = svc.schedule
    svc.set_schedule(ALWAYS)
    yield svc
    svc.set_schedule(saved)


async def test_callback_slot_buttons_with_odd_numbers_never_fail(api, open_desk):
    chat = Chat(api)
    await chat.press("do:request_callback")
    if any(b["payload"] == "flow:callback:yes" for b in chat.buttons()):
        await chat.press("flow:callback:yes")
    await chat.say("+7 914 123-45-67")
    assert any(b["payload"].startswith("flow:callback:s") for b in chat.buttons()), chat.last
    for odd in ODD_NUMBERS:
        await chat.press(f"flow:callback:s{odd}")
        assert chat.last["state"]["flow"] == "callback" and chat.last["replies"], odd
    await chat.press("do:cancel")
    assert chat.last["state"]["flow"] is None


async def test_a_stale_or_empty_flow_button_gets_an_answer_not_silence(api):
    # found by tests/test_fuzz_flows.py: both once answered with no reply at all
    chat = Chat(api)
    await chat.press("do:pay_fee")
    for payload in ("flow:pay:", "flow:pay:f:ip_registration", "flow:pay:"):
        await chat.press(payload)
        assert chat.last["replies"] and chat.last["state"]["flow"] == "pay", payload
    await chat.press("do:cancel")
    chat = Chat(api)
    await chat.press("do:request_callback")
    assert chat.last["state"]["flow"] == "callback"
    await chat.press("flow:callback:²")
    assert any(b["payload"] == "flow:callback:yes" for b in chat.buttons()), chat.last


def test_typed_numbers_are_ascii_digits_only():
    for odd in ("²" * 10, "١٢٣٤٥٦٧٨٩٠", "²" * 12):
        with pytest.raises(Invalid):
            parse_inn(odd)
    with pytest.raises(Invalid):
        parse_ogrn("²" * 13)
    with pytest.raises(uin.UinError):
        uin.validate("²" * 20)
    assert phones.e164("٨٩١٤١٢٣٤٥٦٧") is None
    assert phones.e164("8 914 123-45-67") == "+79141234567"


# ---------------------------------------------------- Allow on 405 / OPTIONS
@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PUT", "PATCH", "TRACE"])
async def test_an_unsupported_method_gets_405_with_the_right_allow_header(api, method):
    resp = await api.request(method, URL.format("allow1"))
    explained(resp, 405)
    assert {m.strip() for m in resp.headers["allow"].split(",")} == {"GET", "POST"}


async def test_console_pages_answer_405_with_allow_too(api):
    resp = await api.request("TRACE", "/console/presence")
    assert resp.status_code == 405 and resp.headers["allow"] == "POST"
    resp = await api.request("DELETE", "/console/login")
    assert resp.status_code == 405 and {m.strip() for m in resp.headers["allow"].split(",")} == {"GET", "POST"}


# ------------------------------------------------------------ request size
BIG = 70 * 1024


async def test_an_oversized_body_is_refused_before_it_is_read(api):
    resp = await api.post(
        URL.format("big1"), content=b'{"text": "' + b"a" * BIG + b'"}', headers={"Content-Type": "application/json"}
    )
    assert "64" in explained(resp, 413)["message"]


async def test_an_oversized_chunked_body_is_refused(api):
    async def chunks():
        yield b'{"text": "'
        for _ in range(BIG // 4096):
            yield b"a" * 4096
        yield b'"}'

    resp = await api.post(URL.format("big2"), content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in resp.request.headers
    explained(resp, 413)


async def test_the_payment_webhook_is_capped_too(api):
    resp = await api.post(
        "/payments/yookassa/notifications",
        content=b"{" + b" " * BIG + b"}",
        headers={"Content-Type": "application/json"},
    )
    explained(resp, 413)


async def test_a_payment_notification_with_odd_ids_is_ignored_not_failed(api, runtime, monkeypatch):
    # As if card payments were on: the gateway is never asked about ids that cannot be one of its own.
    monkeypatch.setattr(runtime.payments, "gateway", object())
    for raw in (rb'"\ud800"', b'"' + b"x" * 5000 + b'"', b'"../../etc"', b"5", b'""'):
        body = b'{"type": "notification", "event": "payment.succeeded", "object": {"id": ' + raw + b"}}"
        resp = await api.post(
            "/payments/yookassa/notifications", content=body, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 200 and resp.json()["status"] == "ignored", (raw, resp.text)


# -------------------------------------------------------------- idempotency
async def test_an_idempotency_key_reused_for_another_request_is_a_conflict(api):
    headers = {"Idempotency-Key": "bound-1"}
    first = await api.post(URL.format("idem-a"), json={"text": "как закрыть ип"}, headers=headers)
    assert first.status_code == 200
    again = await api.post(URL.format("idem-a"), json={"text": "как закрыть ип"}, headers=headers)
    assert again.json() == first.json()
    other_body = await api.post(URL.format("idem-a"), json={"text": "как открыть ип"}, headers=headers)
    assert "Idempotency-Key" in explained(other_body, 409)["message"]
    other_conversation = await api.post(URL.format("idem-b"), json={"text": "как закрыть ип"}, headers=headers)
    explained(other_conversation, 409)


async def test_an_idempotency_key_must_be_printable_ascii(api):
    resp = await api.post(URL.format("idem-c"), json={"text": "привет"}, headers={"Idempotency-Key": "a b"})
    assert "Idempotency-Key" in explained(resp, 422)["message"]


# --------------------------------------------------------- per-key rate limit
async def test_rotating_client_ids_does_not_escape_the_per_key_limit(api, runtime):
    saved, runtime.settings.api_rate_limit_per_minute = runtime.settings.api_rate_limit_per_minute, 3
    await runtime.redis.delete(*await runtime.redis.keys("mb:rate-api-key:*") or ["none"])
    try:
        codes = []
        for n in range(5):
            resp = await api.post(URL.format(f"flood{n}"), json={"payload": "do:cancel", "client_id": f"c{n}"})
            codes.append(resp.status_code)
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        assert 1 <= int(resp.headers["retry-after"]) <= 60
        assert "минут" in explained(resp, 429)["message"] or "секунд" in resp.json()["message"]
    finally:
        runtime.settings.api_rate_limit_per_minute = saved
        await runtime.redis.delete(*await runtime.redis.keys("mb:rate-api-key:*") or ["none"])


# ----------------------------------------------------------------- console
async def test_an_unknown_presence_is_refused_not_failed(api, runtime):
    async with httpx.AsyncClient(transport=api._transport, base_url="http://assistant") as web:
        csrf = await signed_in(web, runtime.redis, "presence_op", "presence operator password")
        resp = await web.post("/console/presence", data={"presence": "bogus", "csrf": csrf})
        assert resp.status_code == 303 and "error=" in resp.headers["location"]
        assert (await web.post("/console/presence", data={"presence": "away", "csrf": csrf})).status_code == 303


async def test_a_turn_saved_before_its_process_died_is_not_taken_again_on_retry(api, runtime, monkeypatch):
    """The process died after the turn was saved but before the API stored the reply for the
    Idempotency-Key; its claim expired. The retry must get that turn's reply, not a second turn."""
    from bot.channels import idempotency
    from bot.channels.api import scoped_conversation_id

    async def died(*_args, **_kwargs):
        raise SystemExit("killed")

    headers = {"Idempotency-Key": "died-after-save"}
    with monkeypatch.context() as patch:
        patch.setattr(idempotency, "remember", died)
        with pytest.raises(BaseException, match="killed"):
            await api.post(URL.format("idem-died"), json={"text": "как закрыть ип"}, headers=headers)
    key_id = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
    stored = keys.api_response(key_id, "died-after-save")
    assert await runtime.redis.get(stored), "the claim is still there"
    await runtime.redis.delete(stored)  # the dead process's claim expired
    other = {"Idempotency-Key": "sent-meanwhile"}  # the client sent another message before retrying
    assert (await api.post(URL.format("idem-died"), json={"text": "нужна ли касса"}, headers=other)).status_code == 200
    retry = await api.post(URL.format("idem-died"), json={"text": "как закрыть ип"}, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["conversation_id"] == "idem-died"
    assert retry.json()["replies"][0]["faq_id"] == "close_ip"
    history = await runtime.engine.conversations.history(scoped_conversation_id(key_id, "idem-died"))
    assert [h["text"] for h in history if h["from"] == "client"] == ["как закрыть ип", "нужна ли касса"]
    again = await api.post(URL.format("idem-died"), json={"text": "как закрыть ип"}, headers=headers)
    assert again.json() == retry.json()
