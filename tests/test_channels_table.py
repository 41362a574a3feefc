"""The README's channel table is true: it is the table the channels declare
(bot/channels/catalogue.py), it lists exactly the channels an assistant with
every channel turned on registers, and what it claims about voice messages
is what those channels do."""

from __future__ import annotations

from bot.channels import catalogue, messenger
from bot.consent import texts as consent_texts
from bot.runtime import Runtime
from bot.settings import ROOT


def test_the_readme_shows_the_channels_as_they_declare_themselves():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert catalogue.table() in readme, "update the «Channels» table in README.md: print(catalogue.table())"
    for name, feats in catalogue.features().items():
        assert set(feats) == set(catalogue.COLUMNS), name
        assert all(value.strip() and "|" not in value for value in feats.values()), name


async def test_the_table_lists_exactly_the_registered_channels(settings, redis_server, retriever):
    everything = settings.model_copy(update={"telegram_bot_token": "123456:test", "max_bot_token": "max-test"})
    rt = await Runtime.create(everything, redis_server.url, None, retriever)
    try:
        assert set(rt.outbound.senders) == set(catalogue.CHANNELS)
        takes_voice = {ch.NAME for ch in messenger.messengers(rt)}
        claims = {name for name, feats in catalogue.features().items() if feats["voice messages"] not in ("no", "—")}
        assert claims == takes_voice == {"telegram", "max"}
        assert all(hasattr(ch, "transcriber") for ch in messenger.messengers(rt))
    finally:
        await rt.telegram.bot.session.close()
        await rt.max.bot.close_session()
        await rt.close()


def test_every_channel_has_a_title_the_client_reads():
    """«Согласие дано в MAX», not «дано max»: the consent status and export name the channel."""
    assert set(catalogue.CHANNELS) <= set(consent_texts.CHANNEL_TITLES)
