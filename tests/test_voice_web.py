"""The «позвонить помощнику» page in real headless Chromium with a fake
microphone playing Korean speech (the Korean Vosk model is configured for
the test): the browser's audio reaches the recogniser and the result is on
the page; the on-screen keypad works; without a model the page says why."""

from __future__ import annotations

import asyncio
import os
import shutil
import time

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import free_port
from tests.voice_kit import FixedDesk, korean_model, korean_speech, needs_espeak, needs_korean_model
from voice import texts
from voice.audio import silence, to_wav
from voice.recognizer import Choice
from voice.service import VoiceService
from voice.web import router

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not shutil.which("chromium"), reason="Debian chromium is not installed"
)
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


async def serve(service: VoiceService):
    app = FastAPI()
    app.include_router(router(service))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or task.done():
            raise AssertionError("the test web server did not start")
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


async def _client_texts(runtime, cid: str, at_least: int, wait: float = 30.0) -> list[str]:
    deadline = time.monotonic() + wait
    while True:
        history = await runtime.engine.conversations.history(cid)
        texts = [e["text"] for e in history if e["from"] == "client"]
        if len(texts) >= at_least or time.monotonic() > deadline:
            return texts[:at_least]
        await asyncio.sleep(0.05)


async def stop(server, task):
    server.should_exit = True
    await asyncio.wait_for(task, 20)


async def browser(playwright, audio_file=None):
    args = list(BROWSER_FLAGS)
    if audio_file:
        args.append(f"--use-file-for-fake-audio-capture={audio_file}%noloop")
    return await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


@needs_chromium
@needs_espeak
@needs_korean_model
async def test_browser_call_is_recognised_and_keypad_works(runtime, tmp_path):
    from playwright.async_api import async_playwright, expect

    wav = tmp_path / "caller.wav"  # leading silence: the page needs a moment to connect
    wav.write_bytes(to_wav(silence(2500, 16000) + korean_speech("네", 16000, tail_ms=2000), 16000))
    service = VoiceService(runtime, model=korean_model(), desk=FixedDesk(), pace=False, silence_seconds=600)
    server, task, base = await serve(service)
    try:
        async with async_playwright() as p:
            chromium = await browser(p, wav)
            try:
                page = await chromium.new_page()
                await page.goto(f"{base}/call")
                await expect(page.locator("h1")).to_have_text("Позвонить помощнику")
                await expect(page.locator("#status")).to_contain_text("на связи", timeout=15_000)
                await page.click("#call")
                await expect(page.locator("#log li.bot").first).to_contain_text("Здравствуйте", timeout=20_000)
                # the fake microphone's Korean «네» is recognised by Vosk and shown
                await expect(page.locator("#log li.you").first).to_have_text("네", timeout=30_000)
                cid = next(iter(service.calls))
                # the page shows what was heard before the turn is stored: wait for it
                assert await _client_texts(runtime, cid, at_least=1) == ["네"]
                # the on-screen keypad: 0 = operator
                bot_lines = await page.locator("#log li.bot").count()
                await page.click("#keypad button[data-key='0']")
                await expect(page.locator("#log li.bot")).to_have_count(bot_lines + 1, timeout=20_000)
                history = await runtime.engine.conversations.history(cid)
                assert history[-1]["from"] == "bot" and any(
                    e.get("payload") == "do:ask_operator" for e in history if e["from"] == "client"
                )
                await page.click("#hangup")
                await expect(page.locator("#status")).to_contain_text("Звонок завершён")
                deadline = time.monotonic() + 10
                while service.calls and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert not service.calls
            finally:
                await chromium.close()
    finally:
        await stop(server, task)


PUBLIC_STATUS = {"on", "message", "speech"}
ADMIN_WORDS = ("VOSK", "WHISPER", "VOICE_", "pip ", "apt-get", "администратор", "administrator", "model")


def assert_public(text: str) -> None:
    """Nothing meant for whoever runs the assistant reaches the public page."""
    for word in ADMIN_WORDS:
        assert word.lower() not in text.lower(), f"administrator hint on the public page: {word!r} in {text!r}"


@needs_chromium
async def test_without_a_recogniser_the_page_calls_by_keypad_and_shows_no_admin_hint(runtime):
    from playwright.async_api import async_playwright, expect

    service = VoiceService(
        runtime,
        choice=Choice("", why_none=texts.ADMIN_NO_RECOGNIZER),
        desk=FixedDesk(),
        pace=False,
        silence_seconds=600,
    )
    server, task, base = await serve(service)
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            status = (await client.get("/call/status")).json()
            assert status == {"on": True, "message": texts.ON_KEYPAD, "speech": False}
            assert_public(str(status))
            assert (await client.get("/call/static/unknown.js")).status_code == 404
        async with async_playwright() as p:
            chromium = await browser(p)  # no fake microphone: keypad only must not ask for one
            try:
                page = await chromium.new_page()
                await page.goto(f"{base}/call")
                await expect(page.locator("#status")).to_have_text(texts.ON_KEYPAD, timeout=15_000)
                assert_public(await page.locator("main").inner_text())
                await page.click("#call")
                greeting = page.locator("#log li.bot").first
                await expect(greeting).to_contain_text("понимаю только кнопки", timeout=20_000)
                await expect(greeting).to_contain_text("Нажмите 1, 2 или 3.")
                assert "Скажите" not in await greeting.inner_text()
                await expect(page.locator("#status")).to_contain_text("кнопками")
                await page.click("#keypad button[data-key='1']")  # «частые вопросы»
                await expect(page.locator("#log li.bot")).to_have_count(2, timeout=20_000)
                topics = await page.locator("#log li.bot").nth(1).inner_text()
                assert "1 — " in topics and "Нажмите 1" in topics
                assert_public(await page.locator("main").inner_text())
                cid = next(iter(service.calls))
                history = await runtime.engine.conversations.history(cid)
                assert [e.get("payload") for e in history if e["from"] == "client"] == ["do:help"]
                await page.click("#hangup")
                await expect(page.locator("#status")).to_contain_text("Звонок завершён")
            finally:
                await chromium.close()
    finally:
        await stop(server, task)


async def test_websocket_says_why_the_line_is_off_and_keeps_to_its_own_origin(runtime, tmp_path):
    import json

    import websockets

    from voice.synthesizer import EspeakSynthesizer

    mute = EspeakSynthesizer(tmp_path / "cache")
    mute.binary = "no-such-synthesizer"
    service = VoiceService(runtime, choice=Choice(""), synthesizer=mute)
    server, task, base = await serve(service)
    try:
        async with websockets.connect(base.replace("http", "ws") + "/call/ws") as ws:
            status = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert status == {"type": "status", "on": False, "message": texts.OFF_NO_TTS, "speech": False}
            assert_public(status["message"])
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "hangup"}
        # a page on another site may not place calls through us from its visitors' browsers
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(
                base.replace("http", "ws") + "/call/ws", additional_headers={"Origin": "https://evil.example"}
            ) as ws:
                await ws.recv()
        async with websockets.connect(
            base.replace("http", "ws") + "/call/ws", additional_headers={"Origin": base}
        ) as ws:  # our own page may
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "status"
    finally:
        await stop(server, task)


async def test_the_app_serves_the_call_page(api):
    """The module is registered: the assistant's own app serves /call, and its status is public-safe."""
    page = await api.get("/call")
    assert page.status_code == 200 and "Позвонить помощнику" in page.text
    assert 'id="admin"' not in page.text
    status = (await api.get("/call/status")).json()
    assert set(status) == PUBLIC_STATUS and status["message"]
    assert_public(status["message"])
