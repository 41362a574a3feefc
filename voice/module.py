"""The voice line as a feature module (registered in bot/modules.py).

install     creates the VoiceService, delivers operator messages into live calls, lends its
            recogniser to voice messages in Telegram and MAX and, when the handoff module is enabled
            (installed first: MODULE uses it), uses its working hours and callback queue
routes      GET /call (the «позвонить помощнику» page), GET /call/status, WS /call/ws
background  loads the speech recogniser; runs the AudioSocket server when VOICE_AUDIOSOCKET_PORT is set

Another desk can be set with `use_desk(runtime, desk)` (any `voice.desk.OperatorDesk`).
"""

from __future__ import annotations

import asyncio
import logging

from bot.modules import Module

from .audiosocket import AudioSocketServer
from .desk import OperatorDesk
from .recognizer import choose
from .service import VoiceService
from .transcriber import ServiceTranscriber
from .web import router

log = logging.getLogger("voice.module")

# What the channel table in the README says of the voice line (tests/test_channels_table.py).
FEATURES = {
    "text": "speech, both ways",
    "buttons": "keypad digits, said aloud",
    "operator": "yes, during the call",
    "notifications": "no (only during a call)",
    "payments": "the requisites, spoken",
    "voice messages": "—",
}


def service(runtime) -> VoiceService:
    """The runtime's voice service (created on first use)."""
    existing = runtime.voice
    if existing is None:
        existing = VoiceService(runtime)
        runtime.voice = existing
    return existing


def use_desk(runtime, desk: OperatorDesk) -> None:
    service(runtime).desk = desk


def install(runtime) -> None:
    voice = service(runtime)
    runtime.outbound.register("voice", voice.deliver)
    handoff = runtime.handoff
    if handoff is not None:
        from handoff.voice_desk import HandoffDesk

        use_desk(runtime, HandoffDesk(handoff))
    if voice.choice.engine:
        from bot.channels import messenger

        messenger.set_transcriber(runtime, ServiceTranscriber(voice))


def routes(app, runtime) -> None:
    app.include_router(router(service(runtime)))


def launcher_note(settings) -> str:
    """The voice line in the launcher banner: what listens, where, and what the administrator can do."""
    from .synthesizer import choose as choose_synthesizer

    choice = choose(settings)
    synth = choose_synthesizer(settings.data_dir / "voice-cache", settings.voice_tts, settings.voice_tts_voice)
    speech = {"vosk": f"Vosk ({choice.path})", "whisper": f"Whisper ({choice.path or 'packaged base model'})"}.get(
        choice.engine, f"keypad only — {choice.why_none.split(' — ', 1)[-1]}"
    )
    voice = f"{synth.engine} ({synth.voice})" if synth.available() else "none — apt-get install festival festvox-ru"
    return f"/call  ·  speech: {speech}  ·  voice: {voice}"


def background(runtime) -> list:
    voice = service(runtime)
    if not voice.choice.engine:
        log.warning("%s", voice.choice.why_none)  # the page and the phone offer the keypad; this says why
    return [_serve(voice, runtime.settings.voice_audiosocket_host, runtime.settings.voice_audiosocket_port)]


async def _serve(voice: VoiceService, host: str, port: int) -> None:
    """Load the recogniser now (a large one takes a while), then serve AudioSocket if configured.

    The launcher stops the app when a background job returns, so this one
    runs until it is cancelled."""
    if port:
        server = AudioSocketServer(voice, host, port)
        await server.start()  # listen at once: callers meanwhile hear «запускается»
        await voice.load()
        await server.serve_forever()
    else:
        await voice.load()
        if (hint := voice.status().admin_hint) and voice.choice.engine:
            log.warning("%s", hint)
        await asyncio.Event().wait()


MODULE = Module(
    "voice",
    provides=("voice",),
    uses=("handoff", "telegram", "max"),
    install=install,
    routes=routes,
    background=background,
)
