"""«Done when» of the channels, as a user meets it: the assistant started as
`make run` / `make serve` start it (`python -m bot serve`, its own process)
with nothing but a MAX token in the environment talks in MAX, and its demo
page /widget/demo gives a working conversation in the site widget — no code
changes, no test wiring inside the process. MAX is the local stand-in of its
Bot API (tests/max_standin.py), reached through MAX_API_BASE."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.channels import widget
from bot.core import texts
from tests.max_standin import MaxStandIn, buttons_of, texts_of
from tests.test_process_safety import App
from tests.widget_kit import Window

pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.slow]

TOKEN = "launcher-max-token"


def _asks_resolved(messages: list[dict]) -> bool:
    return texts.ASK_RESOLVED in texts_of(messages)


async def test_a_max_token_and_the_demo_page_give_working_conversations(rasa_url, tmp_path):
    standin = await MaxStandIn(token=TOKEN).start()
    app = App(tmp_path / "data", rasa_url, MAX_BOT_TOKEN=TOKEN, MAX_API_BASE=standin.url)
    try:
        await asyncio.to_thread(app.wait_ready)

        user = standin.user(5001)  # MAX: «Начать», a question, «Помог ли?» and the answer to it
        user.start()
        got = await user.expect(lambda ms: bool(buttons_of(ms[-1])), timeout=60)
        assert "Здравствуйте" in texts_of(got)
        user.say("как открыть ип")
        got = await user.expect(_asks_resolved, timeout=60)
        assert "Источник:" in texts_of(got)
        user.press(texts.YES_HELPED)
        await user.expect(lambda ms: bool(buttons_of(ms[-1])))

        async with httpx.AsyncClient(base_url=app.url) as client:  # the demo page and its script
            page = await client.get(widget.DEMO_PATH)
            assert page.status_code == 200 and 'src="/widget.js"' in page.text
            assert (await client.get(widget.SCRIPT_PATH)).status_code == 200
        window, first = await Window.open(app.url, app.url, key=widget.DEMO_KEY)  # as the page's script does
        assert first == {"type": "history", "items": []}
        await window.ws.send('{"type": "start"}')
        [greeting] = await window.until(lambda items: True)
        assert "Здравствуйте" in greeting["text"] and greeting["buttons"]
        await window.say("как открыть ип")
        got = await window.until(lambda items: any(i["kind"] == "ask_resolved" for i in items))
        assert "Источник:" in "\n".join(i["text"] for i in got)
        await window.close()
    finally:
        await asyncio.to_thread(app.stop)
        await standin.stop()
