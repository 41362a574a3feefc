"""Rendering the core's replies for Telegram: escaping, splitting, keyboards."""

from __future__ import annotations

import pytest

from bot.channels.telegram_render import (
    CHUNK_LIMIT,
    TELEGRAM_LIMIT,
    escape,
    keyboard,
    render,
    render_reply,
    split_text,
    utf16_len,
)
from bot.core import texts
from bot.core.messages import Button, Reply, ReplyKind


def test_core_text_is_inert_under_html_parse_mode():
    assert escape("ООО <Ромашка> & ИП") == "ООО &lt;Ромашка&gt; &amp; ИП"
    out = render([Reply(kind=ReplyKind.answer, text="Ставка <b>6%</b> & «УСН»")])
    assert out[0].html == "Ставка &lt;b&gt;6%&lt;/b&gt; &amp; «УСН»"


def test_short_text_is_one_message_with_its_buttons():
    reply = Reply(
        kind=ReplyKind.ask_resolved,
        text=texts.ASK_RESOLVED,
        buttons=[
            Button(title=texts.YES_HELPED, payload="ok:usn"),
            Button(title=texts.NO_HELPED, payload="nok:usn"),
            Button(title=texts.OPERATOR_BUTTON, payload="do:ask_operator"),
        ],
    )
    [message] = render_reply(reply)
    assert message.html == texts.ASK_RESOLVED
    rows = message.keyboard.inline_keyboard
    assert [[b.callback_data for b in row] for row in rows] == [["ok:usn", "nok:usn"], ["do:ask_operator"]]
    assert rows[0][0].text == texts.YES_HELPED


def test_long_topic_titles_get_a_row_each():
    titles = ["Как зарегистрировать ИП", "Меры государственной поддержки", "Налоговые режимы"]
    markup = keyboard([Button(title=t, payload=f"faq:t{i}") for i, t in enumerate(titles)])
    assert [len(row) for row in markup.inline_keyboard] == [1, 1, 1]


def test_no_buttons_no_keyboard_and_oversized_payloads_are_dropped():
    assert keyboard([]) is None
    too_long = Button.model_construct(title="x", payload="flow:" + "я" * 40)  # 85 bytes
    assert keyboard([too_long]) is None


def test_long_answer_is_split_under_the_limit_at_paragraphs_and_buttons_go_last():
    paragraphs = [f"Абзац {i}. " + "Текст ответа с подробностями. " * 40 for i in range(12)]
    text = "\n\n".join(paragraphs)
    assert len(text) > TELEGRAM_LIMIT
    reply = Reply(kind=ReplyKind.answer, text=text, buttons=[Button(title="Да", payload="ok:x")])
    out = render_reply(reply)
    assert len(out) >= 3
    assert all(utf16_len(m.html) <= TELEGRAM_LIMIT for m in out)
    assert all(m.keyboard is None for m in out[:-1]) and out[-1].keyboard is not None
    assert all(m.html.startswith("Абзац") for m in out)  # cut between paragraphs
    assert "".join("".join(m.html for m in out).split()) == "".join(text.split())  # nothing lost


def test_text_without_paragraphs_is_cut_at_sentences_then_words():
    sentences = split_text("Предложение номер один. " * 400, limit=500)
    assert all(len(c) <= 500 and c.endswith(".") for c in sentences)
    words = split_text("слово " * 500, limit=100)
    assert all(len(c) <= 100 and not c.startswith(" ") and c.endswith("слово") for c in words)
    assert split_text("а" * 250, limit=100) == ["а" * 100, "а" * 100, "а" * 50]


def test_limit_counts_utf16_units_so_emoji_do_not_overflow():
    chunks = split_text("👍" * 3000)
    assert all(utf16_len(c) <= CHUNK_LIMIT for c in chunks)
    assert "".join(chunks) == "👍" * 3000


@pytest.mark.parametrize(
    "kind,prefix",
    [
        (ReplyKind.error, "⚠️ "),
        (ReplyKind.clarify, "🤔 "),
        (ReplyKind.operator, "👤 <b>Оператор</b>\n"),
        (ReplyKind.answer, ""),
    ],
)
def test_kinds_get_a_light_label(kind, prefix):
    [message] = render_reply(Reply(kind=kind, text="Текст & <тег>"))
    assert message.html == prefix + "Текст &amp; &lt;тег&gt;"


def test_every_reply_of_a_turn_is_rendered_in_order():
    replies = [Reply(kind=ReplyKind.answer, text="Ответ"), Reply(kind=ReplyKind.ask_resolved, text="Помог ли?")]
    assert [m.html for m in render(replies)] == ["Ответ", "Помог ли?"]


QR = "http://127.0.0.1:8000/payments/qr/0123456789abcdef01234567.png"


def test_an_image_becomes_a_photo_with_the_text_as_its_caption():
    reply = Reply(
        kind=ReplyKind.flow,
        text="Отсканируйте QR-код <в приложении банка>.",
        image_url=QR,
        buttons=[Button(title="Проверить оплату", payload="flow:pay:check")],
    )
    [message] = render_reply(reply)
    assert message.photo == QR and message.html == "Отсканируйте QR-код &lt;в приложении банка&gt;."
    assert message.keyboard.inline_keyboard[0][0].callback_data == "flow:pay:check"


def test_text_too_long_for_a_caption_follows_a_bare_photo():
    reply = Reply(
        kind=ReplyKind.flow,
        text="Реквизиты платежа. " * 60,
        image_url=QR,
        buttons=[Button(title="Проверить оплату", payload="flow:pay:check")],
    )
    photo, *rest = render_reply(reply)
    assert photo.photo == QR and photo.html == "" and photo.keyboard is None
    assert rest and all(m.photo is None for m in rest) and rest[-1].keyboard is not None
    assert "".join(m.html for m in rest).replace(" ", "") == reply.text.replace(" ", "")


def test_the_terminal_chat_shows_an_image_as_its_url():
    from bot.channels.terminal import render as terminal_render

    text, buttons = terminal_render(
        [
            Reply(
                kind=ReplyKind.flow,
                text="Отсканируйте QR-код.",
                image_url=QR,
                buttons=[Button(title="Проверить оплату", payload="flow:pay:check")],
            )
        ]
    )
    assert text.splitlines()[:2] == ["Отсканируйте QR-код.", f"Картинка: {QR}"]
    assert "[1] Проверить оплату" in text and buttons[0].payload == "flow:pay:check"
