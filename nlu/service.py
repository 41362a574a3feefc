"""Train the Rasa model when its inputs change, and run the Rasa server.

Rasa lives in its own virtualenv (`.venv-rasa`, Python 3.10: it pins
pydantic 1 and aiogram 2); the application talks to it over HTTP only.
The model file name carries a hash of everything that shapes the model, so
an unchanged project is never retrained.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from bot.processes import die_with_parent

NLU_DIR = Path(__file__).resolve().parent
MODELS = NLU_DIR / "models"
ANY_ADDRESS = {"0.0.0.0", "::", ""}
log = logging.getLogger("nlu")


def _inputs(project: Path = NLU_DIR) -> list[Path]:
    files = [project / "config.yml", project / "domain.yml"]
    files += sorted((project / "data").glob("*.yml"))
    files += sorted((NLU_DIR / "components").glob("*.py"))
    return files


def _content(path: Path) -> bytes:
    # The config's meaning, not its comments: annotating measurements must not retrain.
    if path.name == "config.yml":
        return json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), sort_keys=True).encode()
    return path.read_bytes()


def model_hash(project: Path = NLU_DIR) -> str:
    digest = hashlib.sha256()
    for path in _inputs(project):
        base = project if path.is_relative_to(project) else NLU_DIR
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(_content(path))
    return digest.hexdigest()[:12]


def model_path(project: Path = NLU_DIR) -> Path:
    return project / "models" / f"nlu-{model_hash(project)}.tar.gz"


def rasa_env(rasa_venv: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        PYTHONPATH=str(NLU_DIR),
        TF_CPP_MIN_LOG_LEVEL="3",
        RASA_CACHE_DIRECTORY=str(NLU_DIR / ".rasa" / "cache"),
        VIRTUAL_ENV=str(rasa_venv),
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    env.pop("PYTHONHOME", None)
    return env


def rasa_executable(rasa_venv: Path) -> Path:
    exe = Path(rasa_venv) / "bin" / "rasa"
    if not exe.exists():
        raise FileNotFoundError(f"Rasa is not installed in {rasa_venv}: run `make setup` first")
    return exe


def ensure_model(rasa_venv: Path, log_file: Path | None = None, project: Path = NLU_DIR) -> Path:
    """Return the model for the current data of `project` (the NLU project folder),
    training it if needed."""
    target = model_path(project)
    if target.exists():
        return target
    models = target.parent
    models.mkdir(parents=True, exist_ok=True)
    with open(models / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one training at a time, across processes
        if target.exists():
            return target
        print(
            f"Training the NLU model ({target.name}); this takes a few minutes the first time…",
            file=sys.stderr,
            flush=True,
        )
        started = time.monotonic()
        cmd = [
            str(rasa_executable(rasa_venv)),
            "train",
            "nlu",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--nlu",
            "data",
            "--out",
            str(models),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ]
        out = open(log_file, "ab") if log_file else None  # noqa: SIM115 - closed after the run below
        try:
            result = subprocess.run(
                cmd, cwd=project, env=rasa_env(rasa_venv), stdout=out, stderr=subprocess.STDOUT if out else None
            )
        finally:
            if out:
                out.close()
        if result.returncode != 0 or not target.exists():
            where = f"see {log_file}" if log_file else "see the output above"
            raise RuntimeError(f"Rasa training failed (exit {result.returncode}); {where}")
        for old in models.glob("nlu-*.tar.gz"):
            if old != target:
                old.unlink(missing_ok=True)
        print(f"NLU model trained in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return target


_TOKEN_ENV = "ASSISTANT_RASA_AUTH_TOKEN"
_RUN_WITH_TOKEN = (
    f"import os, sys; from rasa.__main__ import main; "
    f"sys.argv = ['rasa', *sys.argv[1:], '--auth-token', os.environ.pop('{_TOKEN_ENV}')]; "
    f"sys.exit(main())"
)


class RasaServer:
    """`rasa run --enable-api` on localhost (or `host`), as a child process."""

    def __init__(
        self,
        rasa_venv: Path,
        model: Path,
        port: int,
        log_file: Path | None = None,
        token: str = "",
        host: str = "127.0.0.1",
    ):
        self.rasa_venv, self.model, self.port, self.log_file = rasa_venv, model, port, log_file
        self.token, self.host = token, host
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Where this machine reaches it (all interfaces include loopback)."""
        host = "127.0.0.1" if self.host in ANY_ADDRESS else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> RasaServer:
        args = ["run", "--enable-api", "-m", str(self.model), "-i", self.host, "-p", str(self.port)]
        # one math thread: e5 on 2 threads spikes to ~2 s on a busy machine (nlu/config.yml)
        env = {**rasa_env(self.rasa_venv), "OMP_NUM_THREADS": "1"}
        if self.token:
            # Without a token any local process could parse, or load another model
            # (PUT /model). It travels in the environment, which only our user can
            # read, not on the command line, which every local user sees in `ps`.
            cmd = [str(Path(self.rasa_venv) / "bin" / "python"), "-c", _RUN_WITH_TOKEN, *args]
            env[_TOKEN_ENV] = self.token
            rasa_executable(self.rasa_venv)  # a clear error when Rasa is not installed
        else:
            cmd = [str(rasa_executable(self.rasa_venv)), *args]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115 - the server writes it while it runs
        self.proc = subprocess.Popen(
            cmd,
            cwd=NLU_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        return self

    @property
    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    def wait_ready(self, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"Rasa server exited with code {self.proc.returncode}; see {self.log_file}")
            try:
                resp = httpx.get(f"{self.url}/status", params=self._params, timeout=2)
                if resp.status_code in (401, 403):
                    raise RuntimeError(
                        f"port {self.port} is taken by a Rasa server that refuses our token "
                        f"(another assistant's?); stop it or set RASA_PORT"
                    )
                if resp.status_code == 200 and resp.json().get("model_file"):
                    if Path(resp.json()["model_file"]).name != self.model.name:
                        # another (stale) server holds the port and ours will exit
                        raise RuntimeError(
                            f"port {self.port} is taken by a Rasa server with another model; stop it or set RASA_PORT"
                        )
                    # The first parse loads the components lazily (seconds): do it
                    # now, so no client's first message waits or times out.
                    httpx.post(
                        f"{self.url}/model/parse",
                        json={"text": "здравствуйте"},
                        params=self._params,
                        timeout=max(5.0, deadline - time.monotonic()),
                    ).raise_for_status()
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"Rasa server not ready within {timeout:.0f}s; see {self.log_file}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RasaServers:
    """Rasa servers for one model, one per port, started and stopped together."""

    def __init__(
        self,
        rasa_venv: Path,
        model: Path,
        ports: list[int],
        log_file: Path | None = None,
        token: str = "",
        host: str = "127.0.0.1",
    ):
        self.servers = [
            RasaServer(
                rasa_venv,
                model,
                port,
                log_file.with_name(f"{log_file.stem}-{i}{log_file.suffix}")
                if log_file and len(ports) > 1
                else log_file,
                token,
                host,
            )
            for i, port in enumerate(ports)
        ]

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def start(self) -> RasaServers:
        for server in self.servers:
            server.start()
        return self

    def wait_ready(self, timeout: float = 240.0) -> None:
        for server in self.servers:  # they load in parallel; waiting in turn costs nothing
            server.wait_ready(timeout)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def serve(host: str) -> int:
    """RASA_WORKERS Rasa servers on RASA_PORT, RASA_PORT+1, … in the foreground, for app
    processes elsewhere (their RASA_URL lists these servers); Ctrl-C stops them."""
    from bot.settings import get_settings

    settings = get_settings()
    if not settings.rasa_token:
        print(
            "Not starting: set RASA_TOKEN to a long random value (e.g. `openssl rand -hex 24`), the same "
            "for the app processes: without it anyone who reaches the port could load another model.",
            file=sys.stderr,
        )
        return 2
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    model = ensure_model(settings.rasa_venv, logs / "rasa-train.log")
    ports = [settings.rasa_port + i for i in range(settings.rasa_workers)]
    servers = RasaServers(settings.rasa_venv, model, ports, logs / "rasa.log", settings.rasa_token, host)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the servers as Ctrl-C does
    try:
        servers.start().wait_ready()
        shown = host if host not in ANY_ADDRESS else "THIS-HOST"
        urls = ",".join(f"http://{shown}:{port}" for port in ports)
        print(f"NLU ready: RASA_URL={urls}  (logs in {logs})", file=sys.stderr, flush=True)
        while all(s.proc and s.proc.poll() is None for s in servers.servers):
            time.sleep(1)
        print(f"A Rasa server stopped; see {logs / 'rasa.log'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        servers.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nlu.service", description="Train the NLU model when its data changed and print its path."
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("serve", help="also run RASA_WORKERS Rasa servers in the foreground (needs RASA_TOKEN)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on, e.g. 0.0.0.0 (default: 127.0.0.1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the token
    if args.command == "serve":
        return serve(args.host)
    from bot.settings import get_settings

    print(ensure_model(get_settings().rasa_venv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
