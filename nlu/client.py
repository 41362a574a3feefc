"""HTTP client of the Rasa NLU server (`rasa run --enable-api`)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

import aiohttp
import numpy as np

# Set by nlu/components/e5_featurizer.py: the e5 query vector of the parsed text.
EMBEDDING_PROPERTY = "text_embedding"


class NluUnavailable(RuntimeError):
    """No parse: `reason` is "timeout" (no server answered in time) or "error"."""

    def __init__(self, message: str, reason: str = "error"):
        super().__init__(message)
        self.reason = reason


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
        self._params = {"token": token} if token else {}  # Rasa's --auth-token is a query parameter
        # aiohttp, not httpx: a parse is on every turn, and aiohttp spends a third of the CPU on it.
        # Made on first use, inside the event loop that will use it.
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = [0] * len(self.base_urls)
        self._slots = asyncio.Semaphore(self.PER_SERVER * len(self.base_urls))  # waiters wake in FIFO order

    @property
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    def _order(self) -> list[int]:
        return sorted(range(len(self.base_urls)), key=lambda i: self._in_flight[i])

    async def parse(self, text: str) -> NluResult:
        if not text.strip():  # Rasa answers 500 to whitespace alone (a no-break space, U+3000 …)
            return NluResult(ranking=[])
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise NluUnavailable(f"every Rasa server stayed busy for {self.timeout:.0f} s", "timeout") from exc
        try:
            return await self._parse(text)
        finally:
            self._slots.release()

    async def _parse(self, text: str) -> NluResult:
        error: Exception | None = None
        for i in self._order():
            self._in_flight[i] += 1
            try:
                url = f"{self.base_urls[i]}/model/parse"
                async with self._http.post(url, json={"text": text}, params=self._params) as resp:
                    resp.raise_for_status()
                    return _result(await resp.json(content_type=None))
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = exc
            finally:
                self._in_flight[i] -= 1
        reason = "timeout" if isinstance(error, TimeoutError) else "error"
        raise NluUnavailable(f"Rasa parse failed: {error!r}", reason) from error

    async def ready(self) -> bool:
        """At least one server answers with a loaded model."""
        return (await self.status())[0]

    async def status(self) -> tuple[bool, str]:
        """(ready, why not): the first server with a loaded model, else what is wrong with each."""
        problems = []
        for url in self.base_urls:
            try:
                async with self._http.get(f"{url}/status", params=self._params) as resp:
                    status = resp.status
                    try:
                        body = await resp.json(content_type=None) if status == 200 else None
                    except ValueError:
                        body = None
            except (aiohttp.ClientError, TimeoutError) as exc:
                problems.append(f"{url} does not answer ({exc.__class__.__name__})")
                continue
            if status in (401, 403):
                problems.append(f"{url} refuses our token (check RASA_TOKEN)")
            elif status != 200:
                problems.append(f"{url} answers HTTP {status}")
            elif isinstance(body, dict) and body.get("model_file"):
                return True, "ready"
            else:
                problems.append(f"{url} has not loaded a model yet")
        return False, "; ".join(problems)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _result(data: dict) -> NluResult:
    ranking = [(r["name"], float(r["confidence"])) for r in data.get("intent_ranking") or []]
    if not ranking and data.get("intent", {}).get("name"):
        ranking = [(data["intent"]["name"], float(data["intent"].get("confidence", 0)))]
    return NluResult(
        ranking=ranking, entities=data.get("entities") or [], embedding=_embedding(data.get(EMBEDDING_PROPERTY))
    )
