"""`python -m bot run|serve|analytics` — the assistant's launcher.

`run` and `serve` start what the configuration does not provide: an embedded
Redis (no REDIS_URL) and RASA_WORKERS local Rasa servers (no RASA_URL; the model
is trained first when its data changed), then the API / operator console, and —
with `run` — a terminal chat. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from datetime import date

import uvicorn

from bot.processes import PRIVATE_UMASK, make_private
from bot.settings import Settings, get_settings

log = logging.getLogger("launcher")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the launcher owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn versions
        pass


CREATE_OPERATOR = ".venv/bin/python -m handoff.users add NAME --role operator"


def _voice_note(settings: Settings, api_url: str) -> str:
    from voice.module import launcher_note

    audiosocket = (
        f"AudioSocket on {settings.voice_audiosocket_host}:{settings.voice_audiosocket_port}"
        if settings.voice_audiosocket_port
        else "AudioSocket off (set VOICE_AUDIOSOCKET_PORT)"
    )
    return f"{api_url}{launcher_note(settings)}  ·  {audiosocket}"


DEFAULT_API_KEY = Settings.model_fields["assistant_api_key"].default
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _key_note(settings: Settings) -> str:
    """The default key is shown (a new user needs it for the first curl); a real one never is."""
    if settings.assistant_api_key == DEFAULT_API_KEY:
        return (
            f"X-Api-Key: {DEFAULT_API_KEY} — the default key, for this computer only; "
            f"set ASSISTANT_API_KEY before anyone else can reach this address"
        )
    return "X-Api-Key: the value of ASSISTANT_API_KEY"


def unsafe_exposure(settings: Settings) -> str:
    """Why the assistant must not start as configured, or ''."""
    if settings.assistant_host not in LOOPBACK and DEFAULT_API_KEY in settings.api_keys:
        return (
            f"ASSISTANT_HOST={settings.assistant_host} makes the API reachable from other machines, "
            f"but the API key is still the public default '{DEFAULT_API_KEY}'. Set ASSISTANT_API_KEY "
            f"(and ASSISTANT_API_KEYS) to long random values, e.g. `openssl rand -hex 24`, and start again."
        )
    return ""


def _widget_note(settings: Settings, api_url: str) -> str:
    sites = len([p for p in settings.widget_sites.split(";") if p.strip()])
    demo = f"demo {api_url}/widget/demo  ·  " if settings.widget_demo else ""
    return demo + (f"{sites} site(s) in WIDGET_SITES" if sites else "no site yet — add yours to WIDGET_SITES")


def _banner(settings: Settings, api_url: str, redis_note: str, telegram_note: str) -> str:
    from bot.channels.max import launcher_note as max_note

    return "\n".join(
        [
            "",
            "Assistant is up:",
            f"  HTTP API        {api_url}/api/v1/conversations/<id>/messages  ({_key_note(settings)})",
            f"  API docs        {api_url}/docs",
            f"  Operators       {api_url}/console  (create an operator: {CREATE_OPERATOR})",
            f"  Voice line      {_voice_note(settings, api_url)}",
            f"  Store           {redis_note}",
            f"  Telegram        {telegram_note}",
            f"  MAX             {max_note(settings)}",
            f"  Site widget     {_widget_note(settings, api_url)}",
            f"  Logs            {settings.data_dir / 'logs'}",
            "",
        ]
    )


async def serve(with_chat: bool) -> int:
    from bot.app import create_app
    from bot.runtime import Runtime, load_retriever
    from bot.store.redis_server import EmbeddedRedis
    from nlu.service import RasaServers, ensure_model

    settings = get_settings()
    if why := unsafe_exposure(settings):
        print(f"Not starting: {why}", file=sys.stderr, flush=True)
        return 2
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if settings.redis_url:
            redis_url, redis_note = settings.redis_url, "Redis at REDIS_URL"
        else:
            embedded = stack.enter_context(EmbeddedRedis(settings.data_dir / "redis"))
            redis_url, redis_note = embedded.url, f"embedded Redis, data in {embedded.data_dir}"
        rasa = None
        rasa_urls = settings.rasa_urls
        if not rasa_urls:
            model = await asyncio.to_thread(ensure_model, settings.rasa_venv, logs / "rasa-train.log")
            ports = [settings.rasa_port + i for i in range(settings.rasa_workers)]
            # Rasa's HTTP API can load another model: never leave it open to other local users
            settings = settings.model_copy(update={"rasa_token": settings.rasa_token or secrets.token_urlsafe(32)})
            rasa = RasaServers(settings.rasa_venv, model, ports, logs / "rasa.log", settings.rasa_token).start()
            stack.callback(rasa.stop)
            rasa_urls = rasa.urls
            servers = "the NLU server" if len(ports) == 1 else f"{len(ports)} NLU servers"
            print(f"Starting {servers} (about a minute)…", file=sys.stderr, flush=True)
        retriever = await asyncio.to_thread(load_retriever, settings)
        if rasa:
            await asyncio.to_thread(rasa.wait_ready)
        runtime = await Runtime.create(settings, redis_url, rasa_urls, retriever)
        app = create_app(runtime)
        config = uvicorn.Config(
            app, host=settings.assistant_host, port=settings.assistant_port, log_level="warning", lifespan="on"
        )
        server = _Server(config)
        from bot.channels.telegram import launcher_note  # Telegram channel: its banner line

        telegram_note = launcher_note(settings)
        api_url = f"http://{settings.assistant_host}:{settings.assistant_port}"
        print(_banner(settings, api_url, redis_note, telegram_note), file=sys.stderr, flush=True)

        from bot import modules

        tasks = [asyncio.create_task(server.serve(), name="http")]
        tasks += [asyncio.create_task(job, name="module") for job in modules.background(runtime)]
        if with_chat:
            from bot.channels.terminal import chat

            tasks.append(asyncio.create_task(chat(runtime.engine), name="chat"))
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stopper = asyncio.create_task(stop.wait(), name="signal")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        for task in tasks:
            if task.get_name() != "http":
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stopper.cancel()
        await runtime.close()
        for finished in done:
            if finished is not stopper and finished.exception():
                log.error("stopped because of an error", exc_info=finished.exception())
                return 1
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-11-30") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start everything and open a terminal chat")
    sub.add_parser("serve", help="start everything, no terminal chat (foreground)")
    report = sub.add_parser(
        "analytics", help="print the quality indicators, fallback/options rates and unanswered questions"
    )
    report.add_argument(
        "--from", dest="start", type=_day, default=None, help="first day, YYYY-MM-DD (default: 4 weeks ago)"
    )
    report.add_argument("--to", dest="end", type=_day, default=None, help="last day, YYYY-MM-DD (default: today)")
    report.add_argument("--channel", default="", help="one channel: api, telegram, max, web, voice …")
    report.add_argument("--situation", default="", help="one life situation id (knowledge_base/models.py)")
    report.add_argument("--csv", default="", help="also write the indicators to this CSV file")
    report.add_argument("--xlsx", default="", help="also write the indicators to this XLSX file")
    args = parser.parse_args(argv)
    os.umask(PRIVATE_UMASK)  # conversations, profiles and password hashes: our user's eyes only
    settings = get_settings()
    if args.command in ("run", "serve"):
        make_private(settings.data_dir)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if args.command == "run":
        # the terminal belongs to the chat: logs go to a file
        (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        logging.basicConfig(level=settings.log_level, format=fmt, filename=settings.data_dir / "logs" / "assistant.log")
    else:
        logging.basicConfig(level=settings.log_level, format=fmt)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command in ("run", "serve"):
        return _run_loop(serve(with_chat=args.command == "run"))
    if args.command == "analytics":
        from bot.analytics import main as analytics_main

        return asyncio.run(analytics_main(settings, args))
    return 2


def _run_loop(coro):
    """uvloop when installed (uvicorn[standard] brings it): its C sockets cut the
    per-turn overhead of the many small Redis and Rasa round trips."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


if __name__ == "__main__":
    sys.exit(main())
