"""The synthesizers a caller hears (RHVoice, Festival) and the administrator's
transcription command, with real engines and the packaged Whisper model."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import wave

import numpy as np
import pytest

from bot.core.messages import Incoming
from bot.settings import ROOT
from tests.voice_kit import (
    needs_russian_voice,
    needs_whisper,
    ogg_opus,
    packaged_whisper,
    russian_speech,
    whisper_model,
)
from voice.audio import duration_ms, parse_wav, read_audio, resample, to_wav
from voice.synthesizer import FestivalSynthesizer, RHVoiceSynthesizer, choose

ENGINES = [RHVoiceSynthesizer, FestivalSynthesizer]


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.engine)
async def test_a_russian_synthesizer_speaks_caches_and_is_understood(engine, tmp_path):
    synth = engine(tmp_path / "cache")
    if not synth.available():
        pytest.skip(f"{engine.engine} is not installed (scripts/setup_voice.sh)")
    text = "Здравствуйте! Регистрация ИП стоит 800 ₽."
    pcm8 = await synth.synthesize(text, 8000)
    pcm16 = await synth.synthesize(text, 16000)
    assert synth.calls == 1 and synth.cache_path(text).exists()  # one run for both rates, kept on disk
    assert abs(duration_ms(pcm8, 8000) - duration_ms(pcm16, 16000)) < 5 and duration_ms(pcm8, 8000) > 1500
    fresh = engine(tmp_path / "cache")  # e.g. after a restart
    assert await fresh.synthesize(text, 8000) == pcm8 and fresh.calls == 0
    if packaged_whisper():
        heard = await asyncio.to_thread(whisper_model().transcribe, pcm16, 16000)
        assert "здравствуйте" in heard.lower() and "800" in heard  # the sum was said as words and heard back
    if isinstance(synth, FestivalSynthesizer):
        await synth.close()


def test_auto_picks_the_most_natural_installed_synthesizer(tmp_path):
    picked = choose(tmp_path, "auto")
    for cls in ENGINES:
        if cls(tmp_path).available():
            assert picked.engine == cls.engine
            break
    else:
        assert picked.engine == "espeak"
    assert choose(tmp_path, "espeak").engine == "espeak"


def test_wav_of_any_shape_is_read_as_mono_slin16():
    t = np.arange(4410) / 44100
    x = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
    for channels, width, samples in ((2, 2, np.stack([x, x], 1)), (1, 4, x.astype("<i4") << 16)):
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(width)
            w.setframerate(44100)
            w.writeframes(np.ascontiguousarray(samples).tobytes())
        pcm, rate = parse_wav(buf.getvalue())
        assert rate == 44100 and np.array_equal(np.frombuffer(pcm, "<i2"), x)


@needs_russian_voice
async def test_an_ogg_opus_voice_message_is_decoded():
    speech = await russian_speech("добрый день", 16000)
    pcm, rate = read_audio(ogg_opus(speech, 16000))
    assert rate == 16000 and abs(duration_ms(pcm, rate) - duration_ms(speech, 16000)) < 100


@needs_whisper
@needs_russian_voice
async def test_the_transcription_command_prints_one_line_per_file(tmp_path):
    speech = await russian_speech("какой у вас адрес", 16000)
    stereo44 = tmp_path / "stereo-44k.wav"
    pcm44 = np.frombuffer(resample(speech, 16000, 44100), "<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.stack([pcm44, pcm44], 1).tobytes())
    stereo44.write_bytes(buf.getvalue())
    phone = tmp_path / "phone-8k.wav"
    phone.write_bytes(to_wav(await russian_speech("хочу получить микрозайм", 8000, phone=True), 8000))
    run = subprocess.run(
        [sys.executable, "-m", "voice.transcribe", str(stereo44), str(phone)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VOICE_RECOGNIZER": "whisper"},
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    assert "адрес" in lines[0].lower() and "микроза" in lines[1].lower()
    assert "Whisper base (packaged)" in run.stderr  # which recogniser answered, for comparing models


def test_the_transcription_command_says_why_a_model_cannot_be_used(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice.transcribe",
            "--recognizer",
            "vosk",
            "--model",
            str(tmp_path / "no-such-model"),
            str(tmp_path / "x.wav"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2 and "Cannot load the vosk model" in run.stderr and "Traceback" not in run.stderr


async def test_answers_are_ready_to_say_before_the_first_caller_asks(runtime, tmp_path):
    """The opening piece of every knowledge-base answer is synthesized when the line
    starts, so an answer begins playing as soon as it is found (bench: first audio)."""
    from voice.call import first_piece
    from voice.render import render
    from voice.service import VoiceService, answer_openings

    openings = answer_openings(runtime.kb)
    assert len(openings) >= len(runtime.kb.ids())  # every topic, and its segment variants
    turn = await runtime.engine.handle(
        Incoming(conversation_id="voice:prewarm", channel="voice", client_id="voice:prewarm", text="как закрыть ип")
    )
    assert turn.replies[0].faq_id == "close_ip"
    assert first_piece(render(turn.replies).speech) in openings  # exactly what a call says first
    service = VoiceService(runtime, synthesizer=choose(tmp_path / "cache", "auto"))
    if service.synthesizer.engine == "espeak":
        pytest.skip("no Russian voice installed (scripts/setup_voice.sh)")
    assert await service.prewarm_answers() == len(openings)
    assert await service.prewarm_answers() == 0  # kept on disk: nothing is said twice
