"""Local chat in the terminal (`make run`): buttons become numbered choices,
an image (e.g. a payment QR code) is shown as its URL."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

from bot.core.engine import Engine
from bot.core.messages import Button, Incoming, Reply
from bot.core.numbers import is_digits

PROMPT = "\nВы: "
IMAGE = "Картинка: {url}"
LINK = "  {title}: {url}"

# What the channel table in the README says of the terminal chat (tests/test_channels_table.py).
FEATURES = {
    "text": "yes",
    "buttons": "yes, numbered choices",
    "operator": "yes",
    "notifications": "yes",
    "payments": "the QR code's address",
    "voice messages": "no",
}


def render(replies: list[Reply]) -> tuple[str, list[Button]]:
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        if lines:
            lines.append("")
        lines.append(reply.text)
        if reply.image_url:
            lines.append(IMAGE.format(url=reply.image_url))
        for button in reply.buttons:
            if button.url:  # a web page (a payment page): shown, not pressed
                lines.append(LINK.format(title=button.title, url=button.url))
                continue
            buttons.append(button)
            lines.append(f"  [{len(buttons)}] {button.title}")
    return "\n".join(lines), buttons


def _line_reader(stdin) -> asyncio.Queue:
    """Read stdin on a daemon thread so Ctrl-C / shutdown never waits for Enter."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def pump() -> None:
        for line in stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, "")

    threading.Thread(target=pump, daemon=True, name="terminal-stdin").start()
    return queue


async def chat(engine: Engine, *, stdin=sys.stdin, stdout=sys.stdout) -> None:
    cid = f"terminal-{int(time.time())}"
    client = "terminal:local"

    def out(text: str) -> None:
        stdout.write(text)
        stdout.flush()

    out("Локальный чат с помощником. Пишите вопросы; цифра — нажать кнопку; «выход» — завершить.\n")
    lines = _line_reader(stdin)
    result = await engine.handle(
        Incoming(conversation_id=cid, channel="terminal", client_id=client, payload="do:greet")
    )
    text, buttons = render(result.replies)
    out(f"\nПомощник: {text}\n")
    while True:
        out(PROMPT)
        line = await lines.get()
        if not line:  # end of input
            break
        line = line.strip()
        if line.lower() in {"выход", "exit", "quit", "/quit"}:
            break
        if not line:
            continue
        if is_digits(line) and 1 <= int(line) <= len(buttons):
            msg = Incoming(
                conversation_id=cid, channel="terminal", client_id=client, payload=buttons[int(line) - 1].payload
            )
        elif is_digits(line) and buttons:
            out(f"Нет кнопки с номером {line}. Выберите от 1 до {len(buttons)} или напишите вопрос.\n")
            continue
        else:
            msg = Incoming(conversation_id=cid, channel="terminal", client_id=client, text=line)
        result = await engine.handle(msg)
        if not result.replies:  # e.g. an operator has the conversation: they answer later
            continue
        text, buttons = render(result.replies)
        out(f"\nПомощник: {text}\n")
    out("\nДо свидания!\n")
