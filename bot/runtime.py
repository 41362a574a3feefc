"""Wires the parts together: store, knowledge base, NLU client, engine."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml
from redis.asyncio import Redis

from bot import modules
from bot.channels.outbound import Outbound
from bot.core import masking
from bot.core.engine import Engine
from bot.core.understanding import Calibration, Understander
from bot.settings import ROOT, Settings
from bot.store import connect, keys, topology
from bot.store.conversations import ConversationStore, ProfileStore
from bot.store.durable import Durability
from bot.store.events import EventLog
from bot.store.migrate import migrate
from bot.store.ratelimit import RateLimiter
from knowledge_base.embeddings import make_embedder
from knowledge_base.loader import KnowledgeBase, load_knowledge_base
from knowledge_base.retriever import Retriever
from nlu.client import RasaClient

if TYPE_CHECKING:  # the modules import the runtime: only names here
    from bot.applications.forms import Forms
    from bot.applications.store import ApplicationStore
    from bot.booking.service import BookingService
    from bot.channels.max import MaxChannel
    from bot.channels.telegram import TelegramChannel
    from bot.channels.widget import WidgetService
    from bot.consent.service import ConsentService
    from bot.payments.service import PaymentService
    from bot.privacy.erasure import Eraser
    from handoff.service import HandoffService
    from knowledge_base.service import ContentService
    from voice.service import VoiceService


def contract_topic_ids() -> list[str]:
    data = yaml.safe_load((ROOT / "contract" / "faq_topics.yaml").read_text(encoding="utf-8"))
    return [t["id"] for t in data["topics"]]


def load_retriever(settings: Settings) -> tuple[KnowledgeBase, Retriever]:
    kb = load_knowledge_base(settings.kb_dir, contract_topic_ids())
    embedder = make_embedder(settings.embeddings_backend, settings.embeddings_model_path)
    return kb, Retriever(kb, embedder, cache_dir=settings.cache_dir)


async def analytics_salt(redis: Redis) -> str:
    """A per-installation secret so anonymized ids cannot be reversed by guessing."""
    await redis.set(keys.analytics_salt(), secrets.token_hex(16), nx=True)
    return await redis.get(keys.analytics_salt())


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    kb: KnowledgeBase
    nlu: RasaClient | None
    engine: Engine
    outbound: Outbound
    # The services of feature modules (bot/modules.py), set by their install();
    # None when the module is not enabled (or, for Telegram and MAX, not configured).
    handoff: HandoffService | None = None
    telegram: TelegramChannel | None = None
    max: MaxChannel | None = None
    widget: WidgetService | None = None
    voice: VoiceService | None = None
    consent: ConsentService | None = None
    payments: PaymentService | None = None
    applications: ApplicationStore | None = None
    application_forms: Forms | None = None
    booking: BookingService | None = None
    privacy: Eraser | None = None
    content: ContentService | None = None  # the knowledge base edited from the console

    @classmethod
    async def create(
        cls,
        settings: Settings,
        redis_url: str,
        rasa_url: str | list[str] | None,
        retriever: tuple[KnowledgeBase, Retriever] | None = None,
    ) -> Runtime:
        redis = connect(redis_url, Durability(settings.redis_wait_replicas, settings.redis_wait_timeout_ms))
        await migrate(redis, cluster=topology(redis_url) == "cluster")  # before the first turn reads a key
        await asyncio.to_thread(masking.load)  # the masker's NER model: at start, not on the first turn
        kb, search = retriever or load_retriever(settings)
        nlu = RasaClient(rasa_url, settings.nlu_timeout_seconds, settings.rasa_token) if rasa_url else None
        engine = Engine(
            conversations=ConversationStore(redis),
            profiles=ProfileStore(redis),
            events=EventLog(redis, await analytics_salt(redis)),
            understander=Understander(nlu, search, Calibration.load()),
            kb=kb,
            org_name=settings.org_name,
            assistant_name=settings.assistant_name,
            rate_limiter=RateLimiter(redis, settings.rate_limit_per_minute),
        )
        runtime = cls(settings=settings, redis=redis, kb=kb, nlu=nlu, engine=engine, outbound=Outbound())
        modules.install(runtime)
        return runtime

    async def readiness(self) -> tuple[bool, str]:
        try:
            await self.redis.ping()
        except Exception as exc:  # noqa: BLE001 - any store failure means "not ready"
            return False, f"store (Redis) does not answer: {exc.__class__.__name__}"
        if self.nlu is None:
            return False, "NLU is not configured (no RASA_URL); answers come from the knowledge base alone"
        nlu_ok, why = await self.nlu.status()
        if not nlu_ok:
            return False, f"NLU (Rasa) is not ready: {why}; meanwhile answers come from the knowledge base alone"
        if not len(self.kb):
            return False, "knowledge base is empty"
        return True, "ready"

    async def close(self) -> None:
        if self.nlu:
            await self.nlu.close()
        await self.redis.aclose()
