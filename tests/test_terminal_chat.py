"""The terminal chat of `make run`: a person can talk and press numbered buttons."""

from __future__ import annotations

import io

from bot.channels.terminal import chat


async def test_terminal_chat_greets_answers_and_presses_numbered_buttons(runtime):
    stdin = io.StringIO("как закрыть ип\n1\n7\nвыход\n")
    stdout = io.StringIO()
    await chat(runtime.engine, stdin=stdin, stdout=stdout)
    screen = stdout.getvalue()
    assert "Помощник: Здравствуйте" in screen  # a greeting without waiting for the NLU
    assert "[1] 👍 Да, помогло" in screen  # buttons become numbered choices
    assert "Рад, что смог помочь" in screen  # «1» pressed the first button
    assert "Нет кнопки с номером 7" in screen  # a wrong number is explained
    assert screen.rstrip().endswith("До свидания!")
