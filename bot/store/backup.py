"""Backup and restore of the assistant's store, key by key (DUMP / RESTORE).

  python -m bot.store.backup dump FILE
      copy every key of the assistant (`mb:*`) with its remaining lifetime into FILE
  python -m bot.store.backup restore FILE [--replace]
      put them into the store; refused unless the store has none of the assistant's
      keys (--replace: over the keys it has, e.g. to roll a damaged store back)

Uses REDIS_URL — one server, Sentinel (the master) or Redis Cluster (every
master is scanned; a restore sends each key to its slot's master, so a backup
of one topology restores into another) —, or the embedded Redis of `make run`.

The file (gzip, JSON lines: a header, one line per key, a closing line with
the count) holds conversations, consents and payments: it is written 0600,
complete or not at all (a temporary file renamed at the end), and a restore
checks it is complete before writing anything. Expiry is kept as an absolute
time: a key that would have expired by the time of the restore is skipped,
so a conversation lock or an idempotency marker does not outlive itself.

Not a point-in-time snapshot: keys are read as SCAN reaches them, so take the
backup when the assistant is quiet, or stop it (the server's own RDB/AOF copy
is the snapshot alternative on one server). DUMP payloads load only into a
Redis of the same or a newer version. The keys that are not in Redis — the
pseudonym key and the console key (DATA_DIR/secrets or PRIVACY_PSEUDONYM_KEY,
CONSOLE_SECRET_KEY) — must be backed up with it: without the same pseudonym
key, erased clients' kept records cannot be found on request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import connect, keys
from .redis_server import local_redis_url

FORMAT = "assistant-redis-backup"
VERSION = 1
PATTERN = f"{keys.PREFIX}*"
BATCH = 500

Clock = Callable[[], float]


class BadBackup(ValueError):
    """The file is not a complete backup; the message says what is wrong (in Russian: staff read it)."""


class StoreNotEmpty(RuntimeError):
    """A restore without --replace into a store that already has the assistant's keys."""


@dataclass(frozen=True)
class Restored:
    keys: int  # written
    expired: int  # skipped: their lifetime ended since the backup


async def assistant_keys(redis: Redis) -> AsyncIterator[bytes]:
    """Every key of the assistant, on every master of a cluster."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()  # the slot map: until the first command the client knows no node
        for node in redis.get_primaries():
            async for key in redis.scan_iter(match=PATTERN, count=BATCH, target_nodes=node):
                yield key
        return
    async for key in redis.scan_iter(match=PATTERN, count=BATCH):
        yield key


async def _batches(items: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    batch: list[bytes] = []
    async for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


async def dump(redis: Redis, path: Path, clock: Clock = time.time) -> int:
    """Write the backup of `redis` (a bytes client: connect(url, text=False)) to `path`;
    returns how many keys it holds."""
    path = Path(path)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file existed with another mode
    count = 0
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
            out.write(_line({"format": FORMAT, "version": VERSION, "created_at": round(clock(), 3)}))
            async for batch in _batches(assistant_keys(redis)):
                pipe = redis.pipeline(transaction=False)
                for key in batch:
                    pipe.pttl(key)
                    pipe.dump(key)
                answers = await pipe.execute()
                now_ms = int(clock() * 1000)
                for key, ttl, payload in zip(batch, answers[::2], answers[1::2], strict=True):
                    if payload is None or ttl == -2:  # gone since the scan
                        continue
                    expires_at = now_ms + ttl if ttl >= 0 else 0
                    b64 = base64.b64encode
                    out.write(_line({"k": b64(key).decode(), "x": expires_at, "v": b64(payload).decode()}))
                    count += 1
            out.write(_line({"end": True, "keys": count}))
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return count


def _records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with gzip.open(path, "rb") as data:
            for line in data:
                yield json.loads(line)
    except (OSError, EOFError, ValueError) as exc:
        raise BadBackup(f"{path} не читается как резервная копия ({exc.__class__.__name__})") from exc


def check(path: Path) -> int:
    """The number of keys of a complete backup; BadBackup for anything else."""
    records = _records(path)
    header = next(records, None)
    if not header or header.get("format") != FORMAT:
        raise BadBackup(f"{path} — не резервная копия хранилища помощника")
    if header.get("version") != VERSION:
        raise BadBackup(
            f"{path}: копия в формате версии {header.get('version')}, эта версия помощника читает {VERSION}"
        )
    for count, record in enumerate(records):
        if record.get("end"):
            if record.get("keys") != count or next(records, None) is not None:
                raise BadBackup(f"{path}: число ключей не совпадает с итоговой строкой — файл повреждён")
            return count
    raise BadBackup(f"{path}: копия неполная (нет итоговой строки) — её создание прервалось, возьмите другую")


async def restore(redis: Redis, path: Path, *, replace: bool = False, clock: Clock = time.time) -> Restored:
    """Load a backup into `redis` (a bytes client). The file is checked first; nothing is
    written unless it is complete, and (without `replace`) the store has none of our keys."""
    path = Path(path)
    check(path)
    if not replace:
        async for _key in assistant_keys(redis):
            raise StoreNotEmpty("the store already holds the assistant's keys")
    written = expired = 0
    records = _records(path)
    next(records)  # the header
    pending: list[dict[str, Any]] = []

    async def flush() -> None:
        nonlocal written, expired
        pipe = redis.pipeline(transaction=False)
        now_ms = int(clock() * 1000)
        for record in pending:
            expires_at = int(record["x"])
            if expires_at and expires_at <= now_ms:
                expired += 1
                continue
            key, payload = base64.b64decode(record["k"]), base64.b64decode(record["v"])
            pipe.restore(key, expires_at, payload, replace=replace, absttl=bool(expires_at))
            written += 1
        await pipe.execute()
        pending.clear()

    for record in records:
        if record.get("end"):
            break
        pending.append(record)
        if len(pending) == BATCH:
            await flush()
    if pending:
        await flush()
    return Restored(written, expired)


# ------------------------------------------------------------------ command
async def _main(args: argparse.Namespace) -> int:
    from bot.settings import get_settings

    settings = get_settings()
    with local_redis_url(settings.redis_url, settings.data_dir) as url:
        redis = connect(url, text=False)
        try:
            if args.command == "dump":
                count = await dump(redis, args.file)
                print(f"Сохранено ключей: {count} → {args.file} (файл доступен только вам: в нём личные данные).")
                return 0
            try:
                done = await restore(redis, args.file, replace=args.replace)
            except StoreNotEmpty:
                print(
                    "В хранилище уже есть данные помощника: восстановление отменено, ничего не изменено. "
                    "Восстанавливайте в пустой Redis или, чтобы записать копию поверх, добавьте --replace.",
                    file=sys.stderr,
                )
                return 1
            skipped = f"; пропущено истёкших: {done.expired}" if done.expired else ""
            print(f"Восстановлено ключей: {done.keys}{skipped}.")
            return 0
        except BadBackup as exc:
            print(f"Восстановление отменено, ничего не изменено: {exc}.", file=sys.stderr)
            return 1
        finally:
            await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.store.backup", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dump", help="write a backup of the store").add_argument("file", type=Path)
    put = commands.add_parser("restore", help="load a backup into the store")
    put.add_argument("file", type=Path)
    put.add_argument("--replace", action="store_true", help="write over keys the store already has")
    os.umask(0o077)
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
