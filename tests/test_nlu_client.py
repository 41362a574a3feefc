"""The app's side of the NLU service: several servers, the shared e5 vector, entities,
and a stale server on our port. All against the real trained Rasa model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu.client import NluUnavailable, RasaClient
from nlu.service import RasaServer
from tests.conftest import RASA_TOKEN

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


async def test_parse_carries_the_e5_vector_the_knowledge_base_uses(rasa_url, retriever):
    _, search = retriever
    client = RasaClient(rasa_url, timeout=60, token=RASA_TOKEN)
    try:
        result = await client.parse("как открыть ип")
    finally:
        await client.close()
    assert result.embedding is not None
    model, vector = result.embedding
    assert model == search.embedder.name
    local = search.embedder.queries(["как открыть ип"])[0]
    assert float(np.dot(vector, local)) > 0.999
    # so the knowledge-base ranking from Rasa's vector is the one the app would compute
    shared, own = search.search_vector(vector, 3), search.search("как открыть ип", 3)
    assert [t.topic_id for t in shared] == [t.topic_id for t in own]
    assert [t.similarity for t in shared] == pytest.approx([t.similarity for t in own], abs=1e-5)


async def test_a_dead_server_is_skipped_and_all_dead_is_unavailable(rasa_url):
    mixed = RasaClient([DEAD, rasa_url], timeout=60, token=RASA_TOKEN)
    dead = RasaClient([DEAD, DEAD], timeout=5)
    try:
        for _ in range(3):  # whichever order the balancer picks, the live one answers
            assert (await mixed.parse("добрый день")).ranking[0][0] == "greet"
        assert await mixed.ready()
        with pytest.raises(NluUnavailable):
            await dead.parse("добрый день")
        assert not await dead.ready()
        assert "does not answer" in (await dead.status())[1]
    finally:
        await mixed.close()
        await dead.close()


async def test_whitespace_alone_is_no_intent_not_an_nlu_failure():
    """Rasa answers 500 to a text of whitespace only: that must not count as the NLU being down."""
    client = RasaClient(DEAD, timeout=5)
    try:
        for text in ("\u3000", "\xa0", " \x1e\x85 "):
            assert (await client.parse(text)).ranking == []
    finally:
        await client.close()


async def test_rasas_api_is_closed_without_the_token(rasa_url):
    """Any local process could otherwise parse through it, or load another model."""
    import httpx

    async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as raw:
        assert (await raw.post("/model/parse", json={"text": "привет"})).status_code == 401
        assert (await raw.put("/model", json={"model_file": "/tmp/other.tar.gz"})).status_code == 401
    stranger = RasaClient(rasa_url, timeout=60, token="wrong")
    try:
        with pytest.raises(NluUnavailable):
            await stranger.parse("привет")
        ready, why = await stranger.status()
        assert not ready and "RASA_TOKEN" in why
    finally:
        await stranger.close()


@pytest.mark.parametrize(
    "text, entity, value",
    [
        ("хочу оплатить госпошлину 4 000 руб.", "amount", "4 000"),
        ("заплатить 800", "amount", "800"),
        ("оплатил 3500₽ вчера", "amount", "3500"),
        ("запишите меня на 20 марта", "date", "20 марта"),
        ("перенесите запись на 15.12.2026", "date", "15.12.2026"),
        ("можно на послезавтра", "date", "послезавтра"),
        ("запишите на консультацию по налогам", "life_situation", "taxes"),
        ("я самозанятая", "segment", "self_employed"),
        ("инн 7701234567", "inn", "7701234567"),
        ("огрнип 304500116000157", "ogrn", "304500116000157"),
    ],
)
async def test_entities_come_from_regexes_and_lookups(rasa_url, text, entity, value):
    client = RasaClient(rasa_url, timeout=60, token=RASA_TOKEN)
    try:
        result = await client.parse(text)
    finally:
        await client.close()
    assert result.entity(entity) == value, result.entities


def test_an_amount_is_not_read_from_an_inn(rasa_url):
    import httpx

    entities = httpx.post(
        f"{rasa_url}/model/parse", json={"text": "оплатить по инн 7701234567"}, params={"token": RASA_TOKEN}, timeout=60
    ).json()["entities"]
    assert [e["entity"] for e in entities] == ["inn"]


def test_a_server_with_another_model_on_our_port_is_reported(rasa_url, settings):
    port = int(rasa_url.rsplit(":", 1)[1])
    ours = RasaServer(settings.rasa_venv, Path("nlu-some-other-model.tar.gz"), port, token=settings.rasa_token)
    with pytest.raises(RuntimeError, match=f"port {port} is taken"):
        ours.wait_ready(timeout=30)
    stranger = RasaServer(settings.rasa_venv, Path("nlu-some-other-model.tar.gz"), port, token="another")
    with pytest.raises(RuntimeError, match=f"port {port} is taken"):
        stranger.wait_ready(timeout=30)


async def test_parses_queue_in_the_app_first_come_first_served_and_time_out_busy():
    """At most PER_SERVER parses reach a Rasa server at once; the others wait in order,
    and one that cannot start in time is reported unavailable (then the knowledge base
    answers)."""
    import asyncio
    import json

    arrivals: list[str] = []
    now_in, most_in = 0, 0

    async def slow_rasa(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal now_in, most_in
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            )
            text = json.loads(await reader.readexactly(length))["text"]
            now_in += 1
            most_in = max(most_in, now_in)
            arrivals.append(text)
            await asyncio.sleep(0.05)
            now_in -= 1
            body = json.dumps(
                {"intent": {"name": "greet", "confidence": 1.0}, "intent_ranking": [], "entities": []}
            ).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()

    server = await asyncio.start_server(slow_rasa, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    client = RasaClient([url], timeout=10)
    try:
        texts = [str(i) for i in range(8)]
        tasks = []
        for text in texts:
            tasks.append(asyncio.create_task(client.parse(text)))
            await asyncio.sleep(0.002)  # issue them in a known order
        results = await asyncio.gather(*tasks)
        assert all(r.ranking[0][0] == "greet" for r in results)
        assert most_in == RasaClient.PER_SERVER and arrivals == texts
        busy = RasaClient([url], timeout=0.2)
        busy._slots = asyncio.Semaphore(0)  # every slot taken, none frees in time
        with pytest.raises(NluUnavailable, match="busy"):
            await busy.parse("привет")
        await busy.close()
    finally:
        await client.close()
        server.close()
