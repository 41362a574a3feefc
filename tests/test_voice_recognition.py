"""Real speech recognition and synthesis: the Korean Vosk model hears speech
espeak-ng made (no Russian Vosk model can be fetched here), streamed the way
calls stream it; Russian prompts are synthesized and cached."""

from __future__ import annotations

import asyncio

import pytest

from tests.voice_kit import FixedDesk, Recorder, korean_model, korean_speech, needs_espeak, needs_korean_model
from voice import texts
from voice.audio import duration_ms, frame_bytes
from voice.call import Call
from voice.recognizer import Choice
from voice.service import VoiceService
from voice.synthesizer import EspeakSynthesizer

pytestmark = [needs_espeak, needs_korean_model]


def stream(recognizer, pcm: bytes, rate: int, chunk_ms: int = 100):
    """Feed PCM in real-time-sized chunks; return (results, ms of audio fed when each arrived)."""
    out = []
    step = frame_bytes(rate, chunk_ms)
    for pos in range(0, len(pcm), step):
        for result in recognizer.feed(pcm[pos : pos + step]):
            out.append((result, duration_ms(pcm[: pos + step], rate)))
    return out


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("word", ["네", "아니요"])
def test_streaming_recognition_gives_partials_then_one_final(rate, word):
    recognizer = korean_model().recognizer(rate, end_silence_ms=400)
    try:
        speech = korean_speech(word, rate, lead_ms=300, tail_ms=1000)
        results = stream(recognizer, speech, rate)
    finally:
        recognizer.close()
    partials = [r for r, _ in results if not r.final]
    finals = [(r, at) for r, at in results if r.final]
    assert partials and partials[0].text == word
    assert [r.text for r, _ in finals] == [word]
    assert finals[0][0].confidence > 0.5
    # the end of the utterance is detected within the trailing second of silence
    assert finals[0][1] < duration_ms(speech, rate)


def test_one_stream_carries_several_utterances():
    rate = 16000
    recognizer = korean_model().recognizer(rate)
    try:
        audio = korean_speech("네", rate) + korean_speech("아니요", rate) + korean_speech("네", rate)
        finals = [r.text for r, _ in stream(recognizer, audio, rate) if r.final]
    finally:
        recognizer.close()
    assert finals == ["네", "아니요", "네"]


def test_recognisers_are_reused_after_a_call():
    model = korean_model()
    first = model.recognizer(8000)
    kaldi = first._kaldi
    first.close()
    second = model.recognizer(8000)
    assert second._kaldi is kaldi
    assert [r.text for r, _ in stream(second, korean_speech("아니요", 8000), 8000) if r.final] == ["아니요"]
    second.close()


async def test_russian_prompts_are_synthesized_resampled_and_cached(tmp_path):
    synth = EspeakSynthesizer(tmp_path / "voice-cache", voice="ru")
    pcm8 = await synth.synthesize("Здравствуйте! Чем могу помочь?", 8000)
    pcm16 = await synth.synthesize("Здравствуйте! Чем могу помочь?", 16000)
    assert synth.calls == 1  # one espeak-ng run for both rates
    assert 800 < duration_ms(pcm8, 8000) < 5000
    assert abs(duration_ms(pcm8, 8000) - duration_ms(pcm16, 16000)) < 5
    assert synth.cache_path("Здравствуйте! Чем могу помочь?").exists()
    fresh = EspeakSynthesizer(tmp_path / "voice-cache", voice="ru")  # e.g. after a restart
    assert await fresh.synthesize("Здравствуйте! Чем могу помочь?", 8000) == pcm8
    assert fresh.calls == 0


async def test_speech_in_a_call_reaches_the_conversation_core(runtime):
    """Audio frames in → streaming recognition → the core → speech out."""
    service = VoiceService(runtime, model=korean_model(), desk=FixedDesk(), pace=False, silence_seconds=600)
    out = Recorder(rate=8000)
    call = Call(service, "speech-in-1", out)
    running = asyncio.create_task(call.run())
    await out.next_say()  # greeting
    speech = korean_speech("아니요", 8000)
    for pos in range(0, len(speech), 320):  # 20 ms frames, as Asterisk sends them
        await call.audio(speech[pos : pos + 320])
    reply = await out.next_say()
    assert reply["text"]
    assert [t["text"] for t in out.transcripts if t["final"]] == ["아니요"]
    history = await runtime.engine.conversations.history("voice:speech-in-1")
    assert [e["text"] for e in history if e["from"] == "client"] == ["아니요"]
    call.hang_up()
    await asyncio.wait_for(running, 10)


async def test_without_a_recogniser_the_line_works_by_keypad_and_tells_only_the_administrator_why(runtime, tmp_path):
    none = VoiceService(runtime, choice=Choice("", why_none=texts.ADMIN_NO_RECOGNIZER))
    assert none.status().public() == {"on": True, "message": texts.ON_KEYPAD, "speech": False}
    assert "WHISPER_MODEL_PATH" in none.status().admin_hint and "VOSK_MODEL_PATH" in none.status().admin_hint
    broken = VoiceService(runtime, choice=Choice("vosk", str(tmp_path / "no-such-model")))
    assert broken.status().public()["on"] is False  # not loaded yet: «запускается»
    await broken.load()
    assert broken.status().public() == {"on": True, "message": texts.ON_KEYPAD, "speech": False}
    assert "no-such-model" in broken.status().admin_hint
    assert broken.context().speech is False


def test_grammar_setting_accepts_json_or_bars():
    from voice.service import parse_grammar

    assert parse_grammar('["네", "아니요"]') == ["네", "아니요"]
    assert parse_grammar("да | нет") == ["да", "нет"]
    assert parse_grammar("  ") is None
