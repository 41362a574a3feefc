"""Withdrawing a personal-data consent deletes the data collected under it
(152-ФЗ art. 9 part 2, art. 21 part 5): through the HTTP API with the real
Rasa model and Redis. The bot says truthfully what it deleted and what it
keeps, and a later form asks for the data again instead of pre-filling it."""

from __future__ import annotations

from tests import privacy_kit as kit
from tests.chat import Chat

PERSONAL = {"full_name", "inn", "ogrn", "phone", "email"}


async def test_withdrawing_all_consents_deletes_the_personal_data_collected(api, runtime):
    who = kit.person()
    chat = Chat(api, client_id=kit.unique("withdraw-all"))
    client = kit.scoped(chat.client_id)
    number = await kit.submit_microloan(chat, who)
    assert set(await runtime.engine.profiles.get(client)) >= PERSONAL

    # an unfinished second form: its answers are a draft
    await chat.say("хочу подать заявку на консультацию")
    assert "Часть данных я уже знаю" in chat.text() and who.full_name in chat.text()
    await chat.press_title("Да, всё верно")
    await chat.say("отмена")
    assert await runtime.applications.drafts(client, ["consultation"])

    await chat.press("flow:consent:g:*")  # a second consent, so «Отозвать все согласия» is offered
    await chat.say("отзываю согласие")
    await chat.press_title("Отозвать все согласия")
    text = chat.text()
    assert "согласие отозвано" in text
    assert "не сохраняю" not in text  # the old note claimed this while the data stayed

    profile = await runtime.engine.profiles.get(client)
    assert not PERSONAL & set(profile), profile
    assert who.surname not in str(profile) and who.phone not in str(profile)
    assert await runtime.applications.drafts(client, ["consultation", "microloan", "grant_young"]) == {}
    # what was deleted and what is kept, and why
    assert "Удалил" in text and "ФИО" in text and "ИНН" in text and "телефон" in text
    assert "черновик" in text
    assert number in text and "Сохраняются" in text  # the submitted application is kept, with the reason
    assert (await runtime.applications.get(number)).answers["inn"] == who.inn

    # the next form asks again: nothing is pre-filled
    await chat.say("хочу подать заявку на консультацию")
    assert "Часть данных я уже знаю" not in chat.text() and who.surname not in chat.text()
    assert "согласие на обработку персональных данных" in chat.text()


async def test_a_form_in_progress_in_another_conversation_is_ended_with_its_answers(api, runtime):
    who, token = kit.person(), kit.unique("mid-form")
    form = Chat(api, cid=f"{token}-form", client_id=token)
    other = Chat(api, cid=f"{token}-other", client_id=token)
    await form.say("хочу подать заявку на консультацию")
    await form.press_title("Согласен")
    await form.say(who.full_name)
    assert "телефон" in form.text().lower()
    state = await runtime.engine.conversations.load(kit.scoped(form.cid))
    assert state.flow == "app" and who.full_name in str(state.flow_state)

    await other.say("отзываю согласие")
    await other.press_title("Персональные данные: заявки")
    assert "незаконченные анкеты в разговорах (1) — прерваны, ответы удалены" in other.text()
    assert "черновики заявок (1)" in other.text()
    state = await runtime.engine.conversations.load(kit.scoped(form.cid))
    assert state.flow is None and who.surname not in state.model_dump_json()
    assert await runtime.applications.drafts(kit.scoped(token), ["consultation"]) == {}


async def test_in_this_conversation_a_form_with_the_data_ends_and_another_comes_back(api, runtime):
    """Consent buttons under older messages run aside of the flow the client is in: it comes
    back with its question afterwards — unless it holds data of a withdrawn consent."""
    token = kit.unique("aside")
    chat = Chat(api, cid=token, client_id=token)
    await chat.press("flow:consent:g:taxes")
    await chat.press("do:request_callback")
    await chat.press("flow:callback:yes")  # the callback's personal-data consent; now the phone is asked
    assert chat.last["state"]["flow"] == "callback"

    await chat.press("flow:consent:r:situation:taxes")  # «Отписаться» under a news message
    assert "согласие отозвано" in chat.text() and "номер телефона" in chat.text()
    assert chat.last["state"]["flow"] == "callback"  # back, asking for the phone again

    await chat.press("flow:consent:revoke")  # «Отозвать согласие» under an older status reply
    assert "Какое согласие отозвать?" in chat.text() and chat.last["state"]["flow"] == "consent"
    await chat.press_title("Персональные данные: обратный звонок")
    assert "незаконченные анкеты в разговорах (1) — прерваны" in chat.text()
    assert "номер телефона" not in chat.text() and chat.last["state"]["flow"] is None  # the form is gone
    state = await runtime.engine.conversations.load(kit.scoped(token))
    assert state.flow is None and state.suspended == []
