"""The knowledge-base loop over HTTP: who may see which console pages, and the full
loop — unanswered questions → a group → a draft (checked, previewed) → published:
the topic file is written, the audit shows who did what, and the next client
question of the group gets the new answer without a restart, in this process and
in another one that shares the Redis."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
import yaml

from bot.app import create_app
from bot.runtime import Runtime
from tests.conftest import API_KEY
from tests.console_kit import csrf_of, signed_in
from tests.kb_kit import VET, forget_changes, own_knowledge_base

pytestmark = pytest.mark.slow  # two runtimes, each embedding the knowledge base (e5)


@pytest_asyncio.fixture
async def two_processes(tmp_path, settings, redis_server):
    """Two app processes over one Redis and one copy of the topic files (no Rasa)."""
    own, retriever = own_knowledge_base(tmp_path, settings)
    first = await Runtime.create(own, redis_server.url, None, retriever)
    # the second process loads the files itself: its own knowledge base and index
    from bot.runtime import load_retriever

    second = await Runtime.create(own, redis_server.url, None, load_retriever(own))
    await forget_changes(first.redis)
    try:
        yield own, first, second
    finally:
        await forget_changes(first.redis)
        await first.close()
        await second.close()


def _client(runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)),
        base_url="http://assistant",
        headers={"X-Api-Key": API_KEY},
    )


async def _ask(api: httpx.AsyncClient, cid: str, text: str) -> dict:
    resp = await api.post(f"/api/v1/conversations/{cid}/messages", json={"text": text})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_roles_are_checked_on_every_page(two_processes):
    _, runtime, _ = two_processes
    async with _client(runtime) as operator, _client(runtime) as editor, _client(runtime) as boss:
        await signed_in(operator, runtime.redis, "kb-operator", "operator password", "operator")
        refused = await operator.get("/console/content")
        assert refused.status_code == 403 and "редактор базы знаний" in refused.text
        assert (await operator.post("/console/content/g/x/topic", data={"csrf": "x"})).status_code == 403

        await runtime.content.redis.ping()
        from handoff.users import UserStore
        from tests.console_kit import sign_in

        await UserStore(runtime.redis).add("kb-editor", "editor password", "content_editor")
        landed = await sign_in(editor, "kb-editor", "editor password")
        assert landed.headers["location"] == "/console/content"
        page = await editor.get("/console/content")
        assert page.status_code == 200 and "Группы вопросов" in page.text
        assert "Очередь" not in page.text  # no link to the client pages either
        for client_page in (
            "/console",
            "/console/queue.part",
            "/console/callbacks",
            "/console/supervisor",
            "/console/c/api:someone",
            "/console/indicators",
        ):
            got = await editor.get(client_page)
            assert got.status_code == 403, client_page
        assert "разговоры с клиентами вам не видны" in (await editor.get("/console")).text
        csrf = csrf_of(page.text)
        assert (await editor.post("/console/claim", data={"csrf": csrf})).status_code == 403
        assert (await editor.post("/console/logout", data={"csrf": csrf})).status_code == 303

        await signed_in(boss, runtime.redis, "kb-boss", "supervisor password", "supervisor")
        assert (await boss.get("/console/content")).status_code == 200


async def test_an_unanswered_group_becomes_an_answer_without_a_restart(two_processes):
    own, first, second = two_processes
    async with _client(first) as api, _client(first) as editor, _client(second) as other_api:
        for i, text in enumerate(VET):
            got = await _ask(api, f"kbloop-{i}", text)
            assert got["understanding"]["faq_id"] != "vet_grant"
        await signed_in(editor, first.redis, "kb-editor2", "editor password", "content_editor")
        page = await editor.get("/console/content")
        assert all(text in page.text for text in VET)
        group = next(g for g in await first.content.groups() if VET[1] in g.texts)
        assert set(VET) <= set(group.texts)
        form = await editor.get(f"/console/content/g/{group.id}")
        csrf = csrf_of(form.text)
        draft = {
            "csrf": csrf,
            "id": "vet_grant",
            "life_situation": "support",
            "title": "Корм для зоомагазина",
            "question": "Где купить корм для собак оптом?",
            "answer": "Оптовых поставщиков кормов подскажут в центре «Мой бизнес»: "
            "там ведут реестр местных производителей.",
            "source_name": "МСП.РФ",
            "source_url": "https://xn--l1agf.xn--p1ai/",
            "paraphrases": "\n".join(VET),
        }
        bad = await editor.post(f"/console/content/g/{group.id}/topic", data={**draft, "title": "Г", "do": "preview"})
        assert bad.status_code == 422
        assert 'id="err-title"' in bad.text and "не меньше 2 символов" in bad.text

        shown = await editor.post(f"/console/content/g/{group.id}/topic", data={**draft, "do": "preview"})
        assert shown.status_code == 200 and "Как помощник ответит после публикации" in shown.text
        assert shown.text.count("ответит темой «Корм для зоомагазина»") >= len(VET)
        assert "vet_grant" not in first.kb  # a preview changes nothing
        assert not (own.kb_dir / "vet_grant.yaml").exists()

        done = await editor.post(f"/console/content/g/{group.id}/topic", data={**draft, "do": "publish"})
        assert done.status_code == 303 and "Опубликовано" in httpx.URL(done.headers["location"]).params["note"]
        written = yaml.safe_load((own.kb_dir / "vet_grant.yaml").read_text(encoding="utf-8"))
        assert written["title"] == "Корм для зоомагазина" and written["paraphrases"] == VET

        got = await _ask(api, "kbloop-next", "корм для собак оптом где взять")
        assert (
            got["understanding"]["faq_id"] == "vet_grant"
            and "реестр местных производителей" in got["replies"][0]["text"]
        )
        # the other process has not restarted either: it catches up before its turn
        assert "vet_grant" not in second.kb
        other = await _ask(other_api, "kbloop-other", "оптовая закупка корма для собак")
        assert other["understanding"]["faq_id"] == "vet_grant"

        audit = await editor.get("/console/content")
        assert "kb-editor2" in audit.text and "новая тема «Корм для зоомагазина»" in audit.text
        assert VET[1] not in audit.text.split("Журнал изменений")[0]  # answered now: no longer a group


@pytest.mark.parametrize("who", ["operator"])
async def test_an_operator_cannot_publish(two_processes, who):
    _, runtime, _ = two_processes
    async with _client(runtime) as web:
        csrf = await signed_in(web, runtime.redis, "kb-op2", "operator password", who)
        refused = await web.post(
            "/console/content/g/x/paraphrases", data={"csrf": csrf, "topic": "usn", "do": "publish"}
        )
        assert refused.status_code == 403


async def test_a_groups_questions_are_added_to_an_existing_topic(two_processes):
    own, first, _ = two_processes
    async with _client(first) as api, _client(first) as editor:
        for i, text in enumerate(VET):
            await _ask(api, f"kbloop-para-{i}", text)
        await signed_in(editor, first.redis, "kb-editor3", "editor password", "content_editor")
        group = next(g for g in await first.content.groups() if VET[0] in g.texts)
        csrf = csrf_of((await editor.get(f"/console/content/g/{group.id}")).text)
        url = f"/console/content/g/{group.id}/paraphrases"
        nothing = await editor.post(url, data={"csrf": csrf, "topic": "support_measures", "do": "preview"})
        assert nothing.status_code == 422 and "Отметьте хотя бы один вопрос" in nothing.text
        no_topic = await editor.post(url, data={"csrf": csrf, "examples": VET[:2], "do": "preview"})
        assert no_topic.status_code == 422 and "Выберите тему" in no_topic.text
        before = list(first.kb["support_measures"].paraphrases)
        done = await editor.post(
            url, data={"csrf": csrf, "topic": "support_measures", "examples": VET[:2], "do": "publish"}
        )
        assert done.status_code == 303
        written = yaml.safe_load((own.kb_dir / "support_measures.yaml").read_text(encoding="utf-8"))
        assert written["paraphrases"] == [*before, *VET[:2]]
        assert first.kb["support_measures"].paraphrases == [*before, *VET[:2]]
        got = await _ask(api, "kbloop-para-next", VET[0])
        assert got["understanding"]["faq_id"] == "support_measures"
        audit = (await editor.get("/console/content")).text
        assert "2 вопроса к теме" in audit and "kb-editor3" in audit
