"""HTTP client of the Rasa NLU server (`rasa run --enable-api`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


class NluUnavailable(RuntimeError):
    pass


@dataclass
class NluResult:
    ranking: list[tuple[str, float]]  # Rasa labels, best first
    entities: list[dict] = field(default_factory=list)

    def entity(self, name: str) -> str | None:
        for ent in self.entities:
            if ent.get("entity") == name:
                return str(ent.get("value"))
        return None


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def parse(self, text: str) -> NluResult:
        try:
            resp = await self._http.post("/model/parse", json={"text": text})
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise NluUnavailable(f"Rasa parse failed: {exc!r}") from exc
        data = resp.json()
        ranking = [(r["name"], float(r["confidence"])) for r in data.get("intent_ranking") or []]
        if not ranking and data.get("intent", {}).get("name"):
            ranking = [(data["intent"]["name"], float(data["intent"].get("confidence", 0)))]
        return NluResult(ranking=ranking, entities=data.get("entities") or [])

    async def ready(self) -> bool:
        try:
            resp = await self._http.get("/status")
            return resp.status_code == 200 and bool(resp.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        await self._http.aclose()
