"""Recordings to text with the voice line's recogniser: Telegram voice messages
(the channel's `VoiceTranscriber` seam) and `python -m voice.transcribe`."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .audio import read_audio

if TYPE_CHECKING:
    from .service import VoiceService

log = logging.getLogger("voice.transcriber")

MAX_SECONDS = 300  # a longer voice message is cut: it would hold the recogniser for minutes


class ServiceTranscriber:
    def __init__(self, service: VoiceService):
        self.service = service

    async def transcribe(self, audio: bytes, mime_type: str) -> str | None:
        await self.service.load()
        model = self.service.model
        if model is None:
            return None
        try:
            pcm, rate = await asyncio.to_thread(read_audio, audio)
        except Exception as exc:  # noqa: BLE001 - an undecodable file is "not recognised", politely
            log.warning("cannot decode a %s recording: %s", mime_type, exc.__class__.__name__)
            return None
        pcm = pcm[: MAX_SECONDS * rate * 2]
        return (await asyncio.to_thread(model.transcribe, pcm, rate)).strip() or None
