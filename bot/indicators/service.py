"""The indicators service: fold what arrived, then read a period (the console page,
the exports and `python -m bot analytics` all go through it)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.settings import Settings
from knowledge_base.loader import KnowledgeBase

from .fold import Fold
from .report import Filter, Reader, Report

MAX_DAYS = 400
FOLD_EVERY_S = 60.0  # the page folds what is new anyway; this keeps that little

log = logging.getLogger("indicators")


class Indicators:
    def __init__(self, redis: Redis, kb: KnowledgeBase, settings: Settings, *, operators: bool = True):
        zone = ZoneInfo(settings.indicators_timezone)
        situations = {topic: kb[topic].life_situation for topic in kb.ids()}
        self.fold = Fold(redis, situations, zone)
        self.reader = Reader(redis, zone, settings.indicators_min_sample, operators=operators)

    def default_period(self) -> tuple[date, date]:
        end = self.reader.today()
        return end - timedelta(days=27), end

    async def report(self, f: Filter) -> Report:
        await self.fold.catch_up()
        return await self.reader.report(f)

    async def run(self) -> None:
        """Fold in the background (module task), so a page view finds little to fold."""
        while True:
            try:
                await self.fold.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("folding the indicators failed; retrying shortly")
            await asyncio.sleep(FOLD_EVERY_S)
