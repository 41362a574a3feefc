"""HTTP client of the Rasa NLU server (`rasa run --enable-api`)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

import httpx
import numpy as np

# Set by nlu/components/e5_featurizer.py: the e5 query vector of the parsed text.
EMBEDDING_PROPERTY = "text_embedding"


class NluUnavailable(RuntimeError):
    pass


@dataclass
class NluResult:
    ranking: list[tuple[str, float]]  # Rasa labels, best first
    entities: list[dict] = field(default_factory=list)
    embedding: tuple[str, np.ndarray] | None = None  # (encoder name, unit vector)

    def entity(self, name: str) -> str | None:
        for ent in self.entities:
            if ent.get("entity") == name:
                return str(ent.get("value"))
        return None


def _embedding(value: object) -> tuple[str, np.ndarray] | None:
    """Decode the featurizer's vector; anything malformed just means "not shared"."""
    if not isinstance(value, dict):
        return None
    try:
        vector = np.frombuffer(base64.b64decode(value["float32_base64"]), dtype="<f4")
        return str(value["model"]), vector.astype(np.float32)
    except (KeyError, TypeError, ValueError):
        return None


class RasaClient:
    """Parses through one or more Rasa servers.

    A Rasa server handles one parse at a time (its pipeline blocks the event loop),
    so the app runs several and sends each parse to the one with the fewest parses
    in flight; a server that fails is skipped for the others before giving up.

    At most `PER_SERVER` parses are in flight per server; the rest wait here, first
    come first served. Left to itself, a busy Rasa server picks among its queued
    requests in no particular order, so some waited several rounds (p95 twice the
    median). A parse that cannot start within the timeout is "NLU unavailable" and
    the turn is answered from the knowledge base, instead of piling up.
    """

    PER_SERVER = 2  # one being parsed, one ready to start the moment it ends

    def __init__(self, base_urls: str | list[str], timeout: float = 5.0, token: str = ""):
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("RasaClient needs at least one server URL")
        self.base_urls = [u.rstrip("/") for u in urls]
        self.timeout = timeout
        params = {"token": token} if token else None  # Rasa's --auth-token is a query parameter
        self._http = [httpx.AsyncClient(base_url=u, timeout=timeout, params=params) for u in self.base_urls]
        self._in_flight = [0] * len(self._http)
        self._slots = asyncio.Semaphore(self.PER_SERVER * len(self._http))  # waiters wake in FIFO order

    def _order(self) -> list[int]:
        return sorted(range(len(self._http)), key=lambda i: self._in_flight[i])

    async def parse(self, text: str) -> NluResult:
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise NluUnavailable(f"every Rasa server stayed busy for {self.timeout:.0f} s") from exc
        try:
            return await self._parse(text)
        finally:
            self._slots.release()

    async def _parse(self, text: str) -> NluResult:
        error: Exception | None = None
        for i in self._order():
            self._in_flight[i] += 1
            try:
                resp = await self._http[i].post("/model/parse", json={"text": text})
                resp.raise_for_status()
                return _result(resp.json())
            except httpx.HTTPError as exc:
                error = exc
            finally:
                self._in_flight[i] -= 1
        raise NluUnavailable(f"Rasa parse failed: {error!r}") from error

    async def ready(self) -> bool:
        """At least one server answers with a loaded model."""
        return (await self.status())[0]

    async def status(self) -> tuple[bool, str]:
        """(ready, why not): the first server with a loaded model, else what is wrong with each."""
        problems = []
        for url, http in zip(self.base_urls, self._http):
            try:
                resp = await http.get("/status")
            except httpx.HTTPError as exc:
                problems.append(f"{url} does not answer ({exc.__class__.__name__})")
                continue
            if resp.status_code in (401, 403):
                problems.append(f"{url} refuses our token (check RASA_TOKEN)")
            elif resp.status_code != 200:
                problems.append(f"{url} answers HTTP {resp.status_code}")
            else:
                try:
                    loaded = bool(resp.json().get("model_file"))
                except ValueError:
                    loaded = False
                if loaded:
                    return True, "ready"
                problems.append(f"{url} has not loaded a model yet")
        return False, "; ".join(problems)

    async def close(self) -> None:
        for http in self._http:
            await http.aclose()


def _result(data: dict) -> NluResult:
    ranking = [(r["name"], float(r["confidence"])) for r in data.get("intent_ranking") or []]
    if not ranking and data.get("intent", {}).get("name"):
        ranking = [(data["intent"]["name"], float(data["intent"].get("confidence", 0)))]
    return NluResult(ranking=ranking, entities=data.get("entities") or [],
                     embedding=_embedding(data.get(EMBEDDING_PROPERTY)))
