"""The production files stay true to the code: docker-compose.yml (profiles,
replicas, health checks, settings that exist), the proxy's config
(deploy/nginx.conf: upstreams that are services, every WebSocket and webhook
path the app serves) and the Sentinel profile's Redis commands and config,
started for real on Debian's redis-server / redis-sentinel.

No Docker engine runs here, so the compose file is read as YAML the way
Compose reads it (anchors, `${VAR:-default}`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis
import yaml
from fastapi.routing import APIWebSocketRoute

from bot.settings import ROOT, Settings
from bot.store import connect, parse_store_url, topology
from bot.store.durable import Durability, replicated
from tests import redis_topologies
from tests.test_docs import measured_headline

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict] = COMPOSE["services"]
NGINX = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
SENTINEL_CONF = (ROOT / "deploy" / "sentinel.conf").read_text(encoding="utf-8")
DEPLOY_DOC = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
# read by the process itself, not by bot/settings.py
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS": "uvicorn: trust the proxy's X-Forwarded-* headers"}
RASA_ENV = {"RASA_TELEMETRY_ENABLED", "RASA_TOKEN"}
VAR = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def _default(value: object, env: dict[str, str] | None = None) -> str:
    """A compose value with `${VAR:-default}` replaced as Compose would (env, else the default)."""
    env = env or {}
    return VAR.sub(lambda m: env.get(m.group(1), m.group(2) or ""), str(value))


def _profile(name: str | None) -> set[str]:
    """The services `docker compose up` starts with that profile (None: no profile)."""
    return {s for s, spec in SERVICES.items() if not spec.get("profiles") or name in spec["profiles"]}


def _assistant_services() -> list[str]:
    return [s for s, spec in SERVICES.items() if "assistant" in spec.get("build", {}).get("dockerfile", "")]


def _rasa_services() -> list[str]:
    return [s for s, spec in SERVICES.items() if "rasa" in spec.get("build", {}).get("dockerfile", "")]


# ------------------------------------------------------------ docker-compose.yml
def test_the_default_profile_is_one_redis_and_sentinel_adds_a_replica_and_three_sentinels():
    default = _profile(None)
    assert {"redis", "proxy", *_assistant_services(), *_rasa_services()} == default
    added = _profile("sentinel") - default
    sentinels = {s for s in added if "redis-sentinel" in " ".join(SERVICES[s]["command"])}
    replicas = {s for s in added if "--replicaof" in SERVICES[s].get("command", [])}
    assert len(sentinels) == 3 and len(replicas) == 1 and added == sentinels | replicas
    # a service of the default profile must not need one that only another profile starts
    for name in default:
        assert set(SERVICES[name].get("depends_on", {})) <= default, name


def test_several_replicas_of_the_assistant_and_of_rasa():
    (assistant,) = _assistant_services()
    assert SERVICES[assistant]["deploy"]["replicas"] >= 2
    assert "ports" not in SERVICES[assistant], "replicas cannot share a host port: only the proxy publishes"
    rasa = _rasa_services()
    assert len(rasa) >= 2
    # the app balances over the servers RASA_URL lists: every Rasa service, on its port
    listed = Settings(rasa_url=SERVICES[assistant]["environment"]["RASA_URL"]).rasa_urls
    assert sorted(listed) == sorted(f"http://{r}:5005" for r in rasa)


def test_every_service_has_a_health_check_and_waits_for_healthy_dependencies():
    for name, spec in SERVICES.items():
        check = spec.get("healthcheck", {})
        assert check.get("test", [None])[0] == "CMD" and len(check["test"]) > 1, f"{name}: no health check"
        for dependency, how in spec.get("depends_on", {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} → {dependency}"
    (assistant,) = _assistant_services()
    assert "/readyz" in " ".join(SERVICES[assistant]["healthcheck"]["test"])  # bot/app.py's readiness


def test_every_variable_given_to_the_assistant_is_a_setting():
    settings = {name.upper() for name in Settings.model_fields}
    for name in _assistant_services():
        env = SERVICES[name]["environment"]
        unknown = set(env) - settings - set(NOT_SETTINGS)
        assert not unknown, f"{name}: not in bot/settings.py: {sorted(unknown)}"
        # secrets every replica must share are required, never defaulted
        for secret in ("ASSISTANT_API_KEY", "RASA_TOKEN", "CONSOLE_SECRET_KEY", "PRIVACY_PSEUDONYM_KEY"):
            assert f"${{{secret}:?" in env[secret], secret
        assert _default(env["ASSISTANT_HOST"]) == "0.0.0.0"
        # the defaults in the file are values the settings accept
        given = {k.lower(): _default(v) for k, v in env.items() if v is not None and k not in NOT_SETTINGS}
        Settings(**given)
    for name in _rasa_services():
        assert set(SERVICES[name]["environment"]) <= RASA_ENV, name


def test_the_store_urls_name_the_compose_services():
    (assistant,) = _assistant_services()
    single = _default(SERVICES[assistant]["environment"]["REDIS_URL"])
    assert topology(single) == "single" and single.startswith("redis://redis:6379")
    documented = set(re.findall(r"redis\+sentinel://[^\s`'\"]+", DEPLOY_DOC + SENTINEL_CONF))
    assert documented, "docs/DEPLOY.md gives the Sentinel profile's REDIS_URL"
    master = re.search(r"^sentinel monitor (\S+) (\S+) (\d+) (\d+)$", SENTINEL_CONF, re.M)
    assert master and master.group(2) == "redis" and master.group(3) == "6379"
    for url in documented:
        parsed = parse_store_url(url)
        assert parsed.master == master.group(1)
        assert {h for h, _ in parsed.nodes} == _profile("sentinel") - _profile(None) - {"redis-replica"}
        assert {p for _, p in parsed.nodes} == {26379}


# ------------------------------------------------------------ deploy/nginx.conf
def _locations() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"location\s+=?\s*(\S+)\s*\{([^}]*)\}", NGINX)}


def test_the_proxy_sends_to_the_assistant_replicas_by_service_name():
    proxy = SERVICES["proxy"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", NGINX))
    assert upstreams
    (assistant,) = _assistant_services()
    port = _default(SERVICES[assistant]["environment"]["ASSISTANT_PORT"])
    for body in upstreams.values():
        servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", body, re.M)
        assert servers and all(host in SERVICES and p == port for host, p in servers), servers
    passes = set(re.findall(r"proxy_pass\s+http://([\w.-]+)\s*;", NGINX))
    assert passes and passes <= set(upstreams), passes


def test_the_proxy_upgrades_every_websocket_and_passes_the_webhooks():
    from bot.channels.max import WEBHOOK_PATH as MAX_WEBHOOK
    from bot.channels.telegram import WEBHOOK_PATH as TELEGRAM_WEBHOOK
    from bot.channels.widget import WS_PATH
    from bot.payments.web import WEBHOOK_PATH as PAYMENT_WEBHOOK
    from handoff.console.live import router as console_live
    from voice.web import router as voice_router

    sockets = {WS_PATH} | {
        r.path for r in [*console_live.routes, *voice_router(None).routes] if isinstance(r, APIWebSocketRoute)
    }
    assert sockets == {"/widget/ws", "/console/ws", "/call/ws"}
    locations = _locations()
    for path in sockets | {TELEGRAM_WEBHOOK, MAX_WEBHOOK, PAYMENT_WEBHOOK}:
        assert "proxy_pass" in locations.get(path, ""), path
    # the upgrade headers apply to every location (set at the http level)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade", NGINX)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade", NGINX)
    # the app compares a WebSocket's Origin with Host (bot/origin.py): keep the port
    assert re.search(r"proxy_set_header\s+Host\s+\$http_host", NGINX)
    assert "/nginx-health" in " ".join(SERVICES["proxy"]["healthcheck"]["test"]) and "/nginx-health" in locations


# ------------------------------------------------------------ the Sentinel profile, for real
def _server_args(service: str, ports: dict[str, int], folder: Path) -> list[str]:
    """The service's redis-server command, on 127.0.0.1 with the compose names mapped to this machine."""
    args = [_default(a, {"REDIS_WAIT_REPLICAS": "1"}) for a in SERVICES[service]["command"][1:]]
    for i, arg in enumerate(args[:-1]):
        if arg == "--replica-announce-ip":
            args[i + 1] = "localhost"
        if arg == "--replicaof":
            args[i + 1 : i + 3] = ["localhost", str(ports[args[i + 1]])]
    return [*args, "--port", str(ports[service]), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]


def _sentinel_conf(port: int, master_port: int, folder: Path) -> str:
    conf = re.sub(r"^port \d+$", f"port {port}\nbind 127.0.0.1", SENTINEL_CONF, flags=re.M)
    conf = re.sub(r"^dir .*$", f"dir {folder}", conf, flags=re.M)
    conf = re.sub(r" redis 6379 ", f" localhost {master_port} ", conf)
    return re.sub(r"(down-after-milliseconds \S+) \d+", r"\1 1000", conf)


@pytest.mark.slow  # starts other programs (Redis servers, the backup command)
@pytest.mark.skipif(bool(redis_topologies.missing_binaries()), reason=redis_topologies.missing_binaries())
async def test_the_sentinel_profile_serves_the_app_with_durable_writes():
    root = Path(tempfile.mkdtemp(prefix="compose-sentinel-"))
    procs: list[subprocess.Popen] = []
    try:
        m_port, r_port, *s_ports = redis_topologies.free_ports(5)
        ports = {"redis": m_port, "redis-replica": r_port}

        def start(cmd: list[str], folder: Path) -> None:
            log = (folder / "log").open("ab")
            procs.append(subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT))

        for service in ("redis", "redis-replica"):
            (root / service).mkdir()
            start(["redis-server", *_server_args(service, ports, root / service)], root / service)
        for port in s_ports:
            folder = root / f"sentinel-{port}"
            folder.mkdir()
            conf = folder / "sentinel.conf"  # a writable copy, as the compose service makes
            conf.write_text(_sentinel_conf(port, m_port, folder))
            start(["redis-sentinel", str(conf)], folder)

        def ready() -> bool:
            master = redis.Redis(port=m_port, decode_responses=True).info("replication")
            if int(master.get("min_slaves_good_slaves", 0)) < 1:  # synced: writes are accepted
                return False
            for port in s_ports:
                info = redis.Redis(port=port, decode_responses=True).sentinel_master("assistant")
                if int(info["num-slaves"]) < 1 or int(info["num-other-sentinels"]) < 2:
                    return False
            return True

        redis_topologies.wait_until(ready, "the sentinels to find the master, the replica and each other")
        url = "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in s_ports) + "/assistant"
        store = connect(url, Durability(replicas=1, timeout_ms=2000))
        try:
            await store.set("mb:deploy-check", "1")
            await replicated(store)  # the replica acknowledged it: what consents and payments wait for
            replica = connect(f"redis://127.0.0.1:{r_port}/0")
            assert await replica.get("mb:deploy-check") == "1"
            await replica.aclose()
        finally:
            await store.aclose()
        # clients are told the master by its compose name, not a container address that changes
        host, port = redis.Redis(port=s_ports[0]).sentinel_get_master_addr_by_name("assistant")
        assert (host, int(port)) in {(b"localhost", m_port), ("localhost", m_port)}
    finally:
        for p in reversed(procs):  # sentinels first (no failover while the servers go), then replica, master
            redis_topologies.stop_process(p)
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------ without Docker
def test_rasa_alone_refuses_to_listen_without_a_token(monkeypatch, capsys):
    from bot.settings import get_settings
    from nlu import service

    def never(*_args, **_kwargs):
        raise AssertionError("nothing may be trained or started without a token")

    monkeypatch.setenv("RASA_TOKEN", "")
    monkeypatch.setattr(service, "ensure_model", never)
    monkeypatch.setattr(service.RasaServers, "start", never)
    get_settings.cache_clear()
    try:
        assert service.main(["serve", "--host", "0.0.0.0"]) == 2
    finally:
        get_settings.cache_clear()
    assert "RASA_TOKEN" in capsys.readouterr().err


def test_make_has_a_target_for_every_process_the_compose_file_runs():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = dict(re.findall(r"^([\w-]+):.*\n\t(.+)$", makefile, re.M))
    assert targets["serve"] == "$(PY) -m bot serve"  # the app: API, console, widget, voice, messengers, jobs
    assert targets["rasa"].startswith("$(PY) -m nlu.service serve")  # Rasa servers for apps elsewhere
    assert "make rasa" in DEPLOY_DOC and "make serve" in DEPLOY_DOC


def test_rasa_servers_listen_where_told_and_are_reached_locally():
    from nlu.service import RasaServer

    anywhere = RasaServer(Path("venv"), Path("m.tar.gz"), 5005, host="0.0.0.0")
    assert anywhere.url == "http://127.0.0.1:5005"
    assert RasaServer(Path("venv"), Path("m.tar.gz"), 5006, host="10.0.0.7").url == "http://10.0.0.7:5006"
    assert RasaServer(Path("venv"), Path("m.tar.gz"), 5007).url == "http://127.0.0.1:5007"


def test_the_capacity_per_replica_is_quoted_from_the_benchmark_results():
    section = DEPLOY_DOC.split("## Capacity per replica", 1)[1].split("\n## ", 1)[0]
    section = section[section.index("\n- ") :]  # the measurements, after the commands that make them
    results = "".join(
        (ROOT / "benchmarks" / "results" / name).read_text(encoding="utf-8") for name in ("README.md", "scale.md")
    )
    cells = {c.strip().split(" ")[0] for c in re.findall(r"(?<=\|)[^|\n]+(?=\|)", results)}
    measured = set(re.findall(r"\d[\d,]*\.\d+|\d[\d,]*(?= (?:ms|MB))|\d+(?=–\d+ MB)", section))
    assert {*measured_headline(), "74.4"} <= measured
    assert not sorted(measured - cells), (
        f"docs/DEPLOY.md quotes numbers the results do not have: {sorted(measured - cells)}"
    )
