"""The site widget's server side over a real WebSocket (uvicorn serving the
real app): who may open a window, the conversation per site and browser,
buttons, live operator messages, the per-site limit, the script and the demo
page. The window itself in a browser: tests/test_widget_e2e.py."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
from websockets.exceptions import ConnectionClosed

from bot.channels import widget
from bot.core import texts
from bot.core.messages import Button, Reply, ReplyKind
from handoff import keys as handoff_keys
from tests.widget_kit import SITE_KEY, Window, browser_id, serve_app, texts_of

pytestmark = [pytest.mark.rasa]

SITE = "http://127.0.0.1:8001"
OTHER_SITE = "https://другой-сайт.рф"  # browsers send it as https://xn----8sbhd0ac5aonmd.xn--p1ai


@pytest_asyncio.fixture(scope="module")
async def app(settings, redis_server, rasa_url, retriever, tmp_path_factory):
    runtime, url, stop = await serve_app(
        settings,
        redis_server.url,
        rasa_url,
        retriever,
        tmp_path_factory.mktemp("widget") / "schedule.yaml",
        widget_sites=f"{SITE_KEY}={SITE}; other={OTHER_SITE}",
        widget_rate_limit_per_minute=0,
    )
    yield runtime, url
    await stop()


def _asks_resolved(items: list[dict]) -> bool:
    return any(i["kind"] == "ask_resolved" for i in items)


async def test_a_visitor_asks_presses_and_the_conversation_survives_a_new_window(app):
    runtime, url = app
    browser = browser_id()
    window, first = await Window.open(url, SITE, browser=browser)
    assert first == {"type": "history", "items": []}
    await window.say("как открыть ип")
    got = await window.until(_asks_resolved)
    assert got[0]["from"] == "client" and got[0]["text"] == "как открыть ип"
    assert "Источник:" in texts_of(got)
    resolved = next(i for i in got if i["kind"] == "ask_resolved")
    assert [b["title"] for b in resolved["buttons"]] == [texts.YES_HELPED, texts.NO_HELPED, texts.OPERATOR_BUTTON]
    no = resolved["buttons"][1]
    await window.press(no["payload"], no["title"])
    got = await window.until(lambda items: any(i["buttons"] for i in items if i["from"] == "assistant"))
    assert got[0] == {**got[0], "from": "client", "text": texts.NO_HELPED}  # the press shows as its title
    assert "Жаль" in texts_of(got)
    seen = window.items
    await window.close()

    again, first = await Window.open(url, SITE, browser=browser)  # the page is loaded again
    assert first["type"] == "history" and first["items"] == seen
    await again.close()
    other, first = await Window.open(url, SITE)  # another browser: another conversation
    assert first["items"] == []
    await other.close()

    site = runtime.widget.sites[SITE_KEY]
    cid = runtime.widget.conversation_id(site, browser)
    assert cid.startswith(f"web:{site.id}:") and browser not in cid  # the browser id itself is not stored
    state = await runtime.engine.conversations.load(cid)
    assert state.channel == "widget" and state.client_id == cid
    assert cid != runtime.widget.conversation_id(runtime.widget.sites["other"], browser)  # scoped per site


async def test_operator_messages_and_notifications_arrive_live_in_an_open_window(app):
    runtime, url = app
    browser = browser_id()
    window, _ = await Window.open(url, SITE, browser=browser)
    cid = runtime.widget.conversation_id(runtime.widget.sites[SITE_KEY], browser)
    reply = Reply(
        kind=ReplyKind.operator,
        text="Здравствуйте! Проверила вашу заявку <№ 12>.",
        buttons=[Button(title="Перейти к оплате", url="https://pay.example.org/checkout/1")],
        image_url="http://127.0.0.1:8080/payments/qr/0123456789abcdef01234567.png",
    )
    assert await runtime.outbound.send("widget", cid, cid, [reply])
    [got] = await window.until(lambda items: True)
    assert got["from"] == "operator" and got["text"] == reply.text and got["image"] == reply.image_url
    assert got["buttons"] == [{"title": "Перейти к оплате", "payload": "", "url": "https://pay.example.org/checkout/1"}]
    assert not await runtime.outbound.send("widget", "tg:1", "tg:1", [reply])  # not a widget conversation
    await window.close()
    # a message while no window is open waits in the transcript for the next visit
    await runtime.outbound.send("widget", cid, cid, [Reply(kind=ReplyKind.info, text="Ваша запись подтверждена.")])
    later, first = await Window.open(url, SITE, browser=browser)
    assert [i["text"] for i in first["items"]][-1] == "Ваша запись подтверждена."
    assert await runtime.redis.exists(handoff_keys.outbox(cid))  # erased with the conversation (bot/privacy)
    await later.close()


async def test_opening_an_empty_conversation_greets_with_topics_once(app):
    _, url = app
    browser = browser_id()
    window, _ = await Window.open(url, SITE, browser=browser)
    await window.ws.send('{"type": "start"}')
    [greeting] = await window.until(lambda items: True)
    assert greeting["from"] == "assistant" and "Здравствуйте" in greeting["text"]  # no client item before it
    payloads = [b["payload"] for b in greeting["buttons"]]
    assert "faq:register_ip" in payloads and payloads[-1] == "do:ask_operator"
    await window.press("faq:register_ip", greeting["buttons"][0]["title"])
    got = await window.until(_asks_resolved)
    assert got[0]["from"] == "client" and "Источник:" in texts_of(got)
    await window.close()

    again, first = await Window.open(url, SITE, browser=browser)  # the next page: no second greeting
    await again.ws.send('{"type": "start"}')
    await again.say("привет")
    got = await again.until(lambda items: any(i["from"] == "assistant" for i in items))
    assert got[0]["text"] == "привет" and len(first["items"]) == len(window.items)
    await again.close()


async def test_a_notification_reaches_the_site_window_the_visitor_wrote_from(app):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.consent.notifications import Sender, notify

    runtime, url = app
    browser = browser_id()
    window, _ = await Window.open(url, SITE, browser=browser)
    await window.say("привет")  # the visitor is known on this site now
    await window.until(lambda items: any(i["from"] == "assistant" for i in items))
    cid = runtime.widget.conversation_id(runtime.widget.sites[SITE_KEY], browser)
    text = "Ваша запись на консультацию подтверждена <завтра в 10:00>."
    await notify(runtime, cid, "transactional", text, key=f"widget-test:{browser}")
    noon = datetime.now(ZoneInfo(runtime.settings.notify_timezone)).replace(hour=12, minute=0).timestamp()
    await Sender.for_runtime(runtime, clock=lambda: noon).drain()
    got = await window.until(lambda items: any("подтверждена" in i["text"] for i in items))
    assert got[-1]["from"] == "assistant" and text in got[-1]["text"]  # live, into the open window
    await window.close()


@pytest.mark.parametrize(
    "origin,key",
    [
        ("https://evil.example.com", SITE_KEY),  # a site that is not allowed to use the key
        (None, SITE_KEY),  # not a browser page
        (SITE, "unknown-key"),
        ("https://evil.example.com", widget.DEMO_KEY),  # the demo key from anywhere but the assistant itself
    ],
)
async def test_a_foreign_origin_or_key_is_refused_in_words(app, origin, key):
    _runtime, url = app
    window, first = await Window.open(url, origin, key=key)
    assert first["type"] == "refused" and "не подключён" in first["text"]
    with pytest.raises(ConnectionClosed) as closed:
        await window.frame()
    assert closed.value.rcvd.code == 4403


async def test_the_demo_key_works_from_the_assistants_own_pages_and_idn_origins_match(app):
    _, url = app
    window, first = await Window.open(url, url, key=widget.DEMO_KEY)
    assert first["type"] == "history"
    await window.close()
    window, first = await Window.open(url, "https://xn----8sbhd0ac5aonmd.xn--p1ai", key="other")
    assert first["type"] == "history"
    await window.close()


async def test_a_bad_hello_or_message_is_refused_politely(app):
    _, url = app
    with pytest.raises(ConnectionClosed) as closed:  # no history for an invalid browser id
        await Window.open(url, SITE, browser="short")
    assert closed.value.rcvd.code == 4400
    window, _ = await Window.open(url, SITE)
    await window.ws.send('{"type": "message", "text": "   "}')
    assert await window.frame() == {"type": "notice", "text": widget.BAD_MESSAGE}
    await window.ws.send("not json")
    assert (await window.frame())["type"] == "notice"
    await window.close()


async def test_a_site_over_its_limit_is_asked_to_wait(settings, redis_server, rasa_url, retriever, tmp_path):
    _runtime, url, stop = await serve_app(
        settings,
        redis_server.url,
        rasa_url,
        retriever,
        tmp_path / "s.yaml",
        widget_sites=f"busy-site={SITE}",
        widget_rate_limit_per_minute=2,
    )
    try:
        window, _ = await Window.open(url, SITE, key="busy-site")  # 1: the new window
        await window.say("привет")  # 2
        await window.until(lambda items: any(i["from"] == "assistant" for i in items))
        await window.say("как открыть ип")  # 3: over the site's limit
        frame = await window.frame()
        while frame["type"] != "notice":
            frame = await window.frame()
        assert frame == {"type": "notice", "text": widget.SITE_BUSY, "unsent": "как открыть ип"}  # offered again
        await window.close()
    finally:
        await stop()


async def test_each_visitor_has_the_per_client_limit(settings, redis_server, rasa_url, retriever, tmp_path):
    _runtime, url, stop = await serve_app(
        settings,
        redis_server.url,
        rasa_url,
        retriever,
        tmp_path / "s.yaml",
        widget_sites=f"{SITE_KEY}={SITE}",
        rate_limit_per_minute=1,
    )
    try:
        window, _ = await Window.open(url, SITE)
        await window.say("привет")
        await window.until(lambda items: any(i["from"] == "assistant" for i in items))
        await window.say("как открыть ип")
        got = await window.until(lambda items: any(i["from"] == "assistant" for i in items))
        assert got[-1]["kind"] == "error" and "подождите" in got[-1]["text"].lower()
        other, _ = await Window.open(url, SITE)  # another visitor is not held back
        await other.say("привет")
        got = await other.until(lambda items: any(i["from"] == "assistant" for i in items))
        assert got[-1]["kind"] != "error"
        await window.close()
        await other.close()
    finally:
        await stop()


async def test_erasing_a_visitor_removes_the_transcript_the_window_shows(app):
    runtime, url = app
    browser = browser_id()
    window, _ = await Window.open(url, SITE, browser=browser)
    await window.say("как открыть ип")
    await window.until(_asks_resolved)
    await window.close()
    cid = runtime.widget.conversation_id(runtime.widget.sites[SITE_KEY], browser)
    await runtime.privacy.erase(cid)
    again, first = await Window.open(url, SITE, browser=browser)
    assert first["items"] == [] and await runtime.engine.conversations.load(cid) is None
    await again.close()


async def test_the_script_and_the_demo_page(app):
    _, url = app
    async with httpx.AsyncClient(base_url=url) as client:
        js = await client.get(widget.SCRIPT_PATH)
        assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
        assert js.headers["x-content-type-options"] == "nosniff"
        assert js.headers["cross-origin-resource-policy"] == "cross-origin"
        assert "window.__mbWidgetConfig" in js.text and '"color": "#1f5fa8"' in js.text
        assert "Центр «Мой бизнес»" in js.text
        demo = await client.get(widget.DEMO_PATH)
        assert demo.status_code == 200 and 'data-site-key="demo"' in demo.text
        assert "connect-src 'self'" in demo.headers["content-security-policy"]


def test_site_settings_are_read_and_mistakes_named():
    sites = widget.parse_sites(
        "mb-site=https://mbrf.ru https://www.mbrf.ru:443; msp=https://мсп.рф,http://localhost:8000"
    )
    assert sites["mb-site"].origins == {"https://mbrf.ru", "https://www.mbrf.ru"}
    assert sites["msp"].origins == {"https://xn--l1agf.xn--p1ai", "http://localhost:8000"}
    assert widget.parse_sites("") == {}
    for wrong in ("mb-site", "demo=https://a.ru", "k=ftp://a.ru", "k=", "к=https://a.ru"):
        with pytest.raises(ValueError, match="WIDGET_SITES"):
            widget.parse_sites(wrong)
