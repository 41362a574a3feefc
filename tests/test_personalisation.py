"""Personalisation and the service search through the HTTP API (issue 13, «Personalisation
and search»): the segment a client gives in passing is remembered and shapes the answers;
ИП has its own variants; «что мне доступно?» searches the centre's services for the
client's profile instead of naming the centre's address."""

from __future__ import annotations

import hashlib

from bot.store import keys
from tests.chat import Chat
from tests.conftest import API_KEY

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]


async def profile(runtime, chat: Chat) -> dict[str, str]:
    return await runtime.redis.hgetall(keys.client(f"api:{KEY_ID}:{chat.client_id}"))


async def test_a_segment_said_inside_a_question_is_remembered_and_shapes_the_answers(api, runtime):
    chat = Chat(api, client_id="photographer")
    await chat.say("я самозанятый фотограф, нужна ли мне онлайн-касса?")
    assert (await profile(runtime, chat))["segment"] == "self_employed"
    await chat.say("когда сдавать отчётность и платить налоги?")
    assert chat.answered_topic() == "reporting_deadlines"
    assert "Самозанятые декларации не сдают" in chat.text()


async def test_thinking_of_a_business_is_the_future_entrepreneur(api, runtime):
    chat = Chat(api, client_id="dreamer")
    await chat.say("думаю открыть своё дело, с чего начать?")
    assert (await profile(runtime, chat))["segment"] == "future"
    await chat.say("что мне доступно?")
    assert "будущему предпринимателю" in chat.text()


async def test_a_subject_is_no_segment(api, runtime):
    chat = Chat(api, client_id="asks-about-ip")
    await chat.say("как открыть ип")
    assert "segment" not in await profile(runtime, chat)
    await chat.say("я не ИП, просто спрашиваю, как закрыть ип")
    assert "segment" not in await profile(runtime, chat)


async def test_a_sole_trader_gets_the_sole_trader_variant(api, runtime):
    chat = Chat(api, client_id="sole-trader")
    await chat.say("здравствуйте, я ИП")
    await chat.say("когда сдавать отчётность и платить налоги?")
    assert chat.answered_topic() == "reporting_deadlines"
    assert "ИП на УСН сдаёт декларацию до 25 апреля" in chat.text()
    assert "Декларацию по УСН организации сдают" not in chat.text()  # not the general answer
    other = Chat(api, client_id="company-owner")
    await other.say("у нас ООО")
    await other.say("когда сдавать отчётность и платить налоги?")
    assert "ИП на УСН" not in other.text() and "бухгалтерская отчётность" in other.text()


async def test_which_services_are_open_to_me_searches_the_catalogue_for_the_profile(api, runtime):
    chat = Chat(api, client_id="services-client")
    await chat.say("какие услуги центра мне доступны?")
    assert chat.answered_topic() != "center_contacts"
    assert "кто вы" in chat.text()  # no segment yet: asked for it, with the most needed services
    assert "do:set_segment" in [b["payload"] for b in chat.buttons()]
    await chat.say("я самозанятая")
    await chat.say("что мне доступно?")
    text = chat.text()
    assert "самозанятому" in text and "Как получить:" in text and "Кому:" in text
    services = [b for b in chat.buttons() if b["payload"] != "do:ask_operator"]
    assert len(services) == 3
    assert "do:start_application" not in [b["payload"] for b in services]  # the grant is for ИП and ООО only
    await chat.press(services[0]["payload"])  # a button leads on
    assert chat.kinds() != ["error"]


async def test_the_service_search_follows_the_life_situation(api, runtime):
    chat = Chat(api, client_id="exporter")
    await chat.say("у меня ООО")
    await chat.say("какая поддержка есть для экспортёров?")
    assert chat.answered_topic() == "export_support"
    await chat.say("подберите мне услуги")
    assert chat.buttons()[0]["payload"] == "faq:export_support"


async def test_a_tax_question_about_services_is_not_the_search(api, runtime):
    chat = Chat(api, client_id="patent-client")
    await chat.say("какие услуги можно оказывать на патенте?")
    assert chat.answered_topic() == "patent"
