"""State survives a Redis restart (AOF persistence of the embedded server)."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.store.redis_server import EmbeddedRedis


async def test_conversation_survives_a_redis_restart(tmp_path, settings, rasa_url, retriever):
    server = EmbeddedRedis(tmp_path / "redis").start()
    runtime = await Runtime.create(settings, server.url, rasa_url, retriever)
    from bot.core.messages import Incoming

    msg = {"conversation_id": "persist", "channel": "api", "client_id": "persist-client"}
    first = await runtime.engine.handle(Incoming(**msg, text="как закрыть ип"))
    assert first.replies[0].faq_id == "close_ip"
    await runtime.engine.profiles.set("persist-client", segment="ip")
    await runtime.close()
    server.stop(kill=False)

    server = EmbeddedRedis(tmp_path / "redis").start()
    runtime = await Runtime.create(settings, server.url, rasa_url, retriever)
    try:
        state = await runtime.engine.conversations.load("persist")
        assert state is not None and state.pending.kind == "resolved" and state.pending.target == "close_ip"
        assert (await runtime.engine.profiles.get("persist-client"))["segment"] == "ip"
        # the pending «помогло?» question is still answered correctly after the restart
        after = await runtime.engine.handle(Incoming(**msg, text="нет"))
        assert [r.kind.value for r in after.replies] == ["options"]
    finally:
        await runtime.close()
        server.stop()


async def test_answers_continue_from_the_knowledge_base_when_nlu_is_down(settings, redis_server, retriever):
    from bot.core.messages import Incoming

    runtime = await Runtime.create(settings, redis_server.url, "http://127.0.0.1:9", retriever)
    try:
        result = await runtime.engine.handle(
            Incoming(conversation_id="nlu-down", channel="api", client_id="x", text="как зарегистрировать ооо")
        )
        assert result.understanding.faq_id == "register_ooo"
        assert result.replies[0].kind.value in ("answer", "clarify")
    finally:
        await runtime.close()
