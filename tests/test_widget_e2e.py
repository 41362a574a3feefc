"""The site widget in a real browser (headless Chromium): a page of the
organisation's site, served from another origin than the assistant, with the
one script tag. A visitor opens the chat, asks, presses buttons, reloads the
page and finds the conversation, gets operator messages live and a payment
QR code; a page of a site that is not allowed gets a refusal in words."""

from __future__ import annotations

import os

import pytest
import pytest_asyncio

from bot.core import texts
from bot.core.messages import Button, Reply, ReplyKind
from bot.payments import qr as qr_codes
from bot.settings import ROOT
from handoff import texts as handoff_texts
from tests.test_console_e2e import ARGS, CHROMIUM
from tests.widget_kit import SITE_KEY, PageServer, serve_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.rasa,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]

ARTIFACTS = ROOT / "tests" / ".artifacts"


@pytest_asyncio.fixture
async def setup(settings, redis_server, rasa_url, retriever, tmp_path):
    from tests.conftest import free_port

    page_port = free_port()
    runtime, app, stop = await serve_app(
        settings,
        redis_server.url,
        rasa_url,
        retriever,
        tmp_path / "s.yaml",
        widget_sites=f"{SITE_KEY}=http://127.0.0.1:{page_port}",
        org_name="центр «Мой бизнес» Камчатского края",
        widget_color="#00695c",
    )
    qr = qr_codes.png(b"ST00012|Name=Test|PersonalAcc=40102810945370000078")
    site = await PageServer(app, port=page_port, files={"/qr.png": (qr, "image/png")}).start()
    foreign = await PageServer(app).start()
    try:
        yield runtime, app, site, foreign
    finally:
        await site.stop()
        await foreign.stop()
        await stop()


async def test_a_visitor_chats_reloads_meets_an_operator_and_sees_a_payment_qr(setup):
    from playwright.async_api import async_playwright, expect

    runtime, _app, site, foreign = setup
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = await browser.new_page()
        try:
            await page.goto(site.url)
            launcher = page.get_by_role("button", name="Задать вопрос")
            await launcher.click()
            dialog = page.get_by_role("dialog", name="Центр «Мой бизнес» Камчатского края")
            await expect(dialog).to_be_visible()
            await expect(dialog.locator("header")).to_have_css("background-color", "rgb(0, 105, 92)")  # WIDGET_COLOR
            box = page.get_by_label("Ваше сообщение")
            await expect(box).to_be_focused()  # keyboard users land in the message box
            await expect(dialog).to_contain_text("сначала спрошу согласие")  # the personal-data notice
            log = page.get_by_role("log", name="Переписка")
            await expect(log).to_contain_text("Здравствуйте")  # the assistant greets and offers its topics
            await expect(log.get_by_role("button", name="Регистрация ИП")).to_be_visible()

            await box.fill("как открыть ип")
            await box.press("Enter")
            await expect(log).to_contain_text("Источник:")
            await expect(log).to_contain_text(texts.ASK_RESOLVED)
            no = log.get_by_role("button", name=texts.NO_HELPED).last
            await no.focus()
            await page.screenshot(path=str(ARTIFACTS / "widget-focus.png"))
            await page.keyboard.press("Enter")  # buttons work from the keyboard
            await expect(log).to_contain_text("Жаль")
            await page.screenshot(path=str(ARTIFACTS / "widget-conversation.png"))

            # the page is loaded again: the window reopens with the whole conversation
            await page.reload()
            await expect(page.get_by_role("log", name="Переписка")).to_contain_text("как открыть ип")
            await expect(page.get_by_role("log", name="Переписка")).to_contain_text("Жаль")
            browser_id = await page.evaluate(f"localStorage.getItem('mb-widget:{SITE_KEY}:browser')")
            assert browser_id and "ип" not in (await page.evaluate("JSON.stringify(localStorage)"))  # nothing personal
            cid = runtime.widget.conversation_id(runtime.widget.sites[SITE_KEY], browser_id)

            # an operator: asked for, takes the conversation and writes — it appears live
            box = page.get_by_label("Ваше сообщение")
            await box.fill("соедините с оператором")
            await box.press("Enter")
            await expect(log).to_contain_text("Передаю ваш вопрос оператору")
            handoff = runtime.handoff
            assert (await runtime.engine.conversations.load(cid)).with_operator
            assert await handoff.claim("olga", cid) == cid
            await expect(log).to_contain_text(handoff_texts.CLAIMED)
            await handoff.reply("olga", cid, "Здравствуйте! Я проверю ваш вопрос <за минуту>.")
            operator = log.get_by_role("listitem").filter(has_text="Я проверю ваш вопрос <за минуту>.")
            await expect(operator).to_contain_text("Оператор:")

            # a payment QR code: the image with its text and a link to the payment page
            reply = Reply(
                kind=ReplyKind.flow,
                text="Отсканируйте QR-код в приложении банка.",
                image_url=f"{site.url}/qr.png",
                buttons=[Button(title="Оплатить картой", url="https://pay.example.org/checkout/7")],
            )
            assert await runtime.outbound.send("widget", cid, cid, [reply])
            image = log.get_by_role("img", name="QR-код для оплаты", exact=False)
            await expect(image).to_be_visible()
            assert await image.evaluate("img => img.naturalWidth > 0")
            link = log.get_by_role("link", name="Оплатить картой")
            await expect(link).to_have_attribute("href", "https://pay.example.org/checkout/7")
            await page.screenshot(path=str(ARTIFACTS / "widget-operator-qr.png"))

            # Escape closes the window and gives the focus back to the button that opened it
            await page.keyboard.press("Escape")
            await expect(dialog).to_be_hidden()
            await expect(launcher).to_be_focused()

            # on a phone the window takes the whole screen
            await page.set_viewport_size({"width": 375, "height": 700})
            await launcher.click()
            width = await dialog.evaluate("d => d.getBoundingClientRect().width")
            assert width == 375
            await page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))

            # a site that is not allowed to use the key: refused, said in words
            other = await browser.new_page()
            await other.goto(foreign.url)
            await other.get_by_role("button", name="Задать вопрос").click()
            await expect(other.get_by_role("status")).to_contain_text("не подключён")
            await expect(other.get_by_label("Ваше сообщение")).to_be_disabled()
        finally:
            await browser.close()
    state = await runtime.engine.conversations.load(cid)
    assert state.channel == "widget"
