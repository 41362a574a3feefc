"""The voice line as a feature module (registered in bot/modules.py).

install     creates the VoiceService, delivers operator messages into live calls and,
            when the handoff module is installed (it comes first in MODULES),
            uses its working hours and callback queue
routes      GET /call (the «позвонить помощнику» page), GET /call/status, WS /call/ws
background  loads the Vosk model; runs the AudioSocket server when VOICE_AUDIOSOCKET_PORT is set

Another desk can be set with `use_desk(runtime, desk)` (any `voice.desk.OperatorDesk`).
"""

from __future__ import annotations

import asyncio
import logging

from .audiosocket import AudioSocketServer
from .desk import OperatorDesk
from .service import VoiceService
from .web import router

log = logging.getLogger("voice.module")


def service(runtime) -> VoiceService:
    """The runtime's voice service (created on first use)."""
    existing = getattr(runtime, "voice", None)
    if existing is None:
        existing = VoiceService(runtime)
        runtime.voice = existing  # Runtime is a plain dataclass; the voice line hangs its state here
    return existing


def use_desk(runtime, desk: OperatorDesk) -> None:
    service(runtime).desk = desk


def install(runtime) -> None:
    voice = service(runtime)
    runtime.outbound.register("voice", voice.deliver)
    handoff = getattr(runtime, "handoff", None)
    if handoff is not None:
        from handoff.voice_desk import HandoffDesk

        use_desk(runtime, HandoffDesk(handoff))


def routes(app, runtime) -> None:
    app.include_router(router(service(runtime)))


def background(runtime) -> list:
    voice = service(runtime)
    if not voice.model_path:
        log.warning("voice line off: VOSK_MODEL_PATH is empty (the /call page and AudioSocket say so)")
    return [_serve(voice, runtime.settings.voice_audiosocket_host, runtime.settings.voice_audiosocket_port)]


async def _serve(voice: VoiceService, host: str, port: int) -> None:
    """Load the model now (a large one takes a while), then serve AudioSocket if configured.

    The launcher stops the app when a background job returns, so this one
    runs until it is cancelled."""
    if port:
        server = AudioSocketServer(voice, host, port)
        await server.start()  # listen at once: callers meanwhile hear «запускается»
        await voice.load()
        await server.serve_forever()
    else:
        await voice.load()
        await asyncio.Event().wait()
