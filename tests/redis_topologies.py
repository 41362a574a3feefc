"""Real Redis topologies for the tests: a 3-master Redis Cluster and a
master–replica pair watched by three sentinels, started from Debian's
`redis-server` / `redis-sentinel` (bookworm main) on 127.0.0.1, in a temp
folder, and stopped (folder removed) afterwards.

`missing_binaries()` says why they cannot run here (the tests skip with it).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

BINARIES = ("redis-server", "redis-sentinel", "redis-cli")
MASTER_NAME = "assistant"


def missing_binaries() -> str:
    missing = [b for b in BINARIES if not shutil.which(b)]
    if missing:
        return f"Debian Redis binaries missing ({', '.join(missing)}): apt-get install redis-server redis-sentinel"
    return ""


def free_ports(n: int, bus: bool = False) -> list[int]:
    """n free ports on 127.0.0.1 (with `bus`: port+10000 free too, the cluster bus)."""
    ports: list[int] = []
    held: list[socket.socket] = []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
            port = s.getsockname()[1]
            if bus:
                if port + 10000 > 65535:
                    continue
                b = socket.socket()
                try:
                    b.bind(("127.0.0.1", port + 10000))
                except OSError:
                    b.close()
                    continue
                held.append(b)
            ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout}s (last error: {last!r})")


@dataclass
class Node:
    port: int
    proc: subprocess.Popen
    folder: Path
    binary: str = "redis-server"
    args: list[str] = field(default_factory=list)

    def client(self, **kw) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True, **kw)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process dies mid-write, as in a machine failure."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        """Starts the process again with the same arguments and data (as systemd would)."""
        self.kill()
        restarted = _start(self.binary, self.args, self.folder, self.port)
        self.proc = restarted.proc

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL for a server slow to stop (it fsyncs its AOF under load):
    stopping a test's servers must never fail the test."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _start(binary: str, args: list[str], folder: Path, port: int) -> Node:
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "server.log").open("ab")
    proc = subprocess.Popen([binary, *args], cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    node = Node(port, proc, folder, binary, args)
    wait_until(lambda: node.alive() and node.client().ping(), f"{binary} on port {port} to answer", 15)
    return node


def _server_args(port: int, folder: Path, *extra: str) -> list[str]:
    return [
        "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
        "--dir", str(folder), "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
        "--daemonize", "no", "--loglevel", "warning", *extra,
    ]  # fmt: skip


@dataclass
class Cluster:
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


@contextlib.contextmanager
def cluster(masters: int = 3) -> Iterator[Cluster]:
    """A Redis Cluster of `masters` masters (no replicas), every slot served."""
    root = Path(tempfile.mkdtemp(prefix="assistant-cluster-"))
    found = Cluster()
    try:
        for port in free_ports(masters, bus=True):
            folder = root / str(port)
            folder.mkdir()
            args = _server_args(
                port, folder, "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
                "--cluster-node-timeout", "2000",
            )  # fmt: skip
            found.nodes.append(_start("redis-server", args, folder, port))
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in found.nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for n in found.nodes:
            wait_until(
                lambda n=n: n.client().execute_command("CLUSTER INFO").get("cluster_state") == "ok",
                f"cluster node {n.port} to see every slot served",
            )
        yield found
    finally:
        found.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class SentinelSetup:
    master: Node
    replica: Node
    sentinels: list[Node]

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels) + f"/{MASTER_NAME}"

    def master_port(self) -> int:
        for s in self.sentinels:
            with contextlib.suppress(redis.RedisError):
                return int(s.client().sentinel_get_master_addr_by_name(MASTER_NAME)[1])
        raise RuntimeError("no sentinel answers")

    def data_nodes(self) -> list[Node]:
        return [self.master, self.replica]

    def stop(self) -> None:
        for n in [*self.sentinels, self.master, self.replica]:
            n.stop()


@contextlib.contextmanager
def sentinel(min_replicas: int = 1) -> Iterator[SentinelSetup]:
    """A master and one replica, watched by three sentinels (quorum 2). The master refuses
    writes while no replica is connected (`min-replicas-to-write`), so a write it
    acknowledged has been sent to the replica; the app's WAIT makes sure it arrived."""
    root = Path(tempfile.mkdtemp(prefix="assistant-sentinel-"))
    nodes: list[Node] = []
    try:
        m_port, r_port, *s_ports = free_ports(5)
        safety = ["--min-replicas-to-write", str(min_replicas), "--min-replicas-max-lag", "10"]
        master = _start("redis-server", _server_args(m_port, root / "master", *safety), root / "master", m_port)
        nodes.append(master)
        replica_args = _server_args(r_port, root / "replica", "--replicaof", "127.0.0.1", str(m_port), *safety)
        replica = _start("redis-server", replica_args, root / "replica", r_port)
        nodes.append(replica)
        wait_until(
            lambda: master.client().info("replication").get("min_slaves_good_slaves", 0) >= min_replicas,
            "the replica to connect to the master and acknowledge",
        )
        sentinels = []
        for port in s_ports:
            folder = root / f"sentinel-{port}"
            folder.mkdir()
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {m_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 4000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            node = _start("redis-sentinel", [str(conf)], folder, port)
            sentinels.append(node)
            nodes.append(node)
        setup = SentinelSetup(master, replica, sentinels)
        for s in sentinels:  # each sentinel knows the others and the replica before a test kills anything
            wait_until(
                lambda s=s: (
                    int(s.client().sentinel_master(MASTER_NAME).get("num-other-sentinels", 0)) >= 2
                    and int(s.client().sentinel_master(MASTER_NAME).get("num-slaves", 0)) >= 1
                ),
                f"sentinel {s.port} to find the other sentinels and the replica",
            )
        yield setup
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(root, ignore_errors=True)


def started(topology: str) -> contextlib.AbstractContextManager[Cluster | SentinelSetup]:
    """`cluster` or `sentinel`, by name (TEST_REDIS_TOPOLOGY)."""
    if topology == "cluster":
        return cluster()
    if topology == "sentinel":
        return sentinel()
    raise ValueError(f"TEST_REDIS_TOPOLOGY is cluster or sentinel, not {topology!r}")
