"""After a publish the NLU model retrains in the background and the running Rasa
server loads it (`PUT /model`): a Rasa server of its own (the session's shared one
keeps its model), a copy of the NLU project (the repository's generated files are
not touched), a topic the old model did not know."""

from __future__ import annotations

import shutil

import pytest

from knowledge_base import keys as kb_keys
from knowledge_base.editing import Draft, check
from nlu.client import RasaClient
from nlu.retrain import Retrainer
from nlu.service import NLU_DIR, RasaServer, ensure_model
from tests.conftest import ARTIFACTS, free_port
from tests.kb_kit import VET, forget_changes, own_knowledge_base

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


async def test_the_new_model_is_trained_and_loaded_into_the_running_rasa(tmp_path, settings, redis_server):
    from bot.store import connect

    own, retriever = own_knowledge_base(tmp_path, settings)
    draft = Draft(
        id="dog_food",
        life_situation="start_business",
        title="Корм для зоомагазина",
        question="Где купить корм для собак оптом?",
        answer="Оптовых поставщиков кормов подскажут в центре «Мой бизнес».",
        source_name="МСП.РФ",
        source_url="https://xn--l1agf.xn--p1ai/",
        paraphrases=VET,
    )
    checked = check(draft, retriever[0], new=True)
    assert checked.entry is not None
    (own.kb_dir / "dog_food.yaml").write_text(checked.text, encoding="utf-8")

    project = tmp_path / "nlu"
    project.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy(NLU_DIR / name, project / name)
    shutil.copytree(NLU_DIR / "data", project / "data")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    old_model = ensure_model(settings.rasa_venv, ARTIFACTS / "rasa-train.log")
    server = RasaServer(
        settings.rasa_venv, old_model, free_port(), ARTIFACTS / "rasa-retrain-server.log", settings.rasa_token
    ).start()
    redis = connect(redis_server.url)
    nlu = RasaClient(server.url, 30, settings.rasa_token)
    try:
        server.wait_ready()
        assert (await nlu.parse(VET[0])).ranking[0][0] != "faq__dog_food"
        await forget_changes(redis)
        await redis.sadd(kb_keys.kb_fresh(), "dog_food")
        retrain = Retrainer(
            redis,
            own.kb_dir,
            settings.rasa_venv,
            [server.url],
            settings.rasa_token,
            project,
            ARTIFACTS / "rasa-train.log",
        )
        retrain.request()
        await retrain.wait()

        state = await redis.hgetall(kb_keys.kb_nlu())
        assert state["state"] == "ready", state
        assert "faq__dog_food" in (project / "domain.yml").read_text(encoding="utf-8")
        assert (project / "models" / state["model"]).exists()
        assert await redis.smembers(kb_keys.kb_fresh()) == set()  # the NLU knows the topic now
        assert (await nlu.parse("корм для собак оптом где взять")).ranking[0][0] == "faq__dog_food"
    finally:
        await nlu.close()
        server.stop()
        await forget_changes(redis)
        await redis.aclose()
