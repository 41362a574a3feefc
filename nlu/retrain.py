"""Retraining the NLU model in the background after the knowledge base changed in
the console, and loading it into the running Rasa servers.

The generated NLU files are rewritten from the topic files (`nlu.build.outputs`),
the model is trained as at start-up (`nlu.service.ensure_model`: its name is the
hash of the data, so a restarted Rasa finds the same model) and every Rasa server
is told to load it (`PUT /model {"model_file": …}`, Rasa 3.6's HTTP API; the
servers run on this host and read the file themselves). Until then the changed
topics stay in `{kb}:fresh` and the knowledge base alone scores them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
from redis.asyncio import Redis

from knowledge_base import keys as kb_keys

from .build import outputs
from .service import NLU_DIR, ensure_model

log = logging.getLogger("nlu.retrain")


class Retrainer:
    def __init__(
        self,
        redis: Redis,
        kb_dir: Path,
        rasa_venv: Path,
        rasa_urls: list[str],
        token: str = "",
        project: Path = NLU_DIR,
        log_file: Path | None = None,
    ):
        self.redis = redis
        self.kb_dir = kb_dir
        self.rasa_venv = rasa_venv
        self.rasa_urls = rasa_urls
        self.token = token
        self.project = project
        self.log_file = log_file
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def request(self) -> None:
        """Retrain soon; changes published while a training runs are trained next."""
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def wait(self) -> None:
        """Until the trainings asked for so far are done (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            try:
                await self.once()
            except Exception as exc:  # noqa: BLE001 - the retriever still answers; say why on the page
                log.error("NLU retraining failed: %s", exc)
                await self.redis.hset(
                    kb_keys.kb_nlu(), mapping={"state": "failed", "error": str(exc)[:300], "at": f"{time.time():.0f}"}
                )

    async def once(self) -> Path:
        trained = set(await self.redis.smembers(kb_keys.kb_fresh()))
        await self.redis.hset(kb_keys.kb_nlu(), mapping={"state": "training", "at": f"{time.time():.0f}", "error": ""})
        model = await asyncio.to_thread(self._train)
        async with httpx.AsyncClient(timeout=300, params={"token": self.token} if self.token else None) as http:
            for url in self.rasa_urls:
                resp = await http.put(f"{url.rstrip('/')}/model", json={"model_file": str(model)})
                resp.raise_for_status()
        pipe = self.redis.pipeline(transaction=True)
        if trained:
            pipe.srem(kb_keys.kb_fresh(), *trained)
        pipe.hset(kb_keys.kb_nlu(), mapping={"state": "ready", "model": model.name, "at": f"{time.time():.0f}"})
        pipe.incr(kb_keys.kb_version())  # every process re-reads what the NLU knows
        await pipe.execute()
        log.info("NLU model %s loaded into %d Rasa server(s)", model.name, len(self.rasa_urls))
        return model

    def _train(self) -> Path:
        for path, text in outputs(self.kb_dir, self.project).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        return ensure_model(self.rasa_venv, self.log_file, self.project)
