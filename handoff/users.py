"""Operator console accounts: argon2-hashed passwords in Redis, two roles.

CLI:  python -m handoff.users add NAME --role operator|supervisor
      (asks for the password, or reads one line from stdin when piped)
      python -m handoff.users list
      python -m handoff.users remove NAME
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
import time
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from handoff import keys as handoff_keys

from .sessions import revoke_user_sessions

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class Role(str, Enum):
    operator = "operator"
    supervisor = "supervisor"


@dataclass(frozen=True)
class User:
    name: str
    role: Role


class UserError(ValueError):
    pass


class UserStore:
    def __init__(self, redis: Redis):
        self.redis = redis

    async def add(self, name: str, password: str, role: Role | str = Role.operator) -> User:
        name = name.strip().lower()
        if not NAME.match(name):
            raise UserError("Имя: 2–32 символа, латинские строчные буквы, цифры, «_», «.», «-».")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"Пароль должен быть не короче {MIN_PASSWORD} символов.")
        role = Role(role)
        hashed = await asyncio.to_thread(_hasher.hash, password)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(handoff_keys.console_user(name), mapping={"password": hashed, "role": role.value,
                                                   "created_at": f"{time.time():.0f}"})
        pipe.sadd(handoff_keys.console_users(), name)
        pipe.delete(handoff_keys.console_account_failures(name))  # a new password lifts a lockout
        await pipe.execute()
        await revoke_user_sessions(self.redis, name)  # a new password or role: sign in again
        return User(name, role)

    async def get(self, name: str) -> User | None:
        h = await self.redis.hgetall(handoff_keys.console_user(name.strip().lower()))
        return User(name.strip().lower(), Role(h["role"])) if h else None

    async def verify(self, name: str, password: str) -> User | None:
        name = name.strip().lower()
        h = await self.redis.hgetall(handoff_keys.console_user(name)) if NAME.match(name) else {}
        stored = h.get("password", _DUMMY_HASH)
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if not h:
            return None
        if _hasher.check_needs_rehash(stored):
            await self.redis.hset(handoff_keys.console_user(name), "password", await asyncio.to_thread(_hasher.hash, password))
        return User(name, Role(h["role"]))

    async def all(self) -> list[User]:
        users = [await self.get(n) for n in sorted(await self.redis.smembers(handoff_keys.console_users()))]
        return [u for u in users if u]

    async def remove(self, name: str) -> bool:
        name = name.strip().lower()
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(handoff_keys.console_user(name))
        pipe.srem(handoff_keys.console_users(), name)
        removed = bool((await pipe.execute())[0])
        await revoke_user_sessions(self.redis, name)
        return removed


def _read_password(stdin=sys.stdin) -> str:
    if stdin.isatty():
        first = getpass.getpass("Пароль: ")
        if first != getpass.getpass("Пароль ещё раз: "):
            raise UserError("Пароли не совпадают — запустите команду ещё раз.")
        return first
    return stdin.readline().rstrip("\n")


async def _main(args) -> int:
    from bot.settings import get_settings
    from bot.store import connect
    from bot.store.redis_server import local_redis_url

    settings = get_settings()
    with local_redis_url(settings.redis_url, settings.data_dir) as url:
        redis = connect(url)
        try:
            store = UserStore(redis)
            if args.command == "add":
                user = await store.add(args.name, _read_password(), args.role)
                print(f"Пользователь {user.name} ({user.role.value}) сохранён.")
            elif args.command == "list":
                for user in await store.all():
                    print(f"{user.name}\t{user.role.value}")
            elif args.command == "remove":
                print("Удалён." if await store.remove(args.name) else "Такого пользователя нет.")
            return 0
        except UserError as exc:
            print(f"Ошибка: {exc}", file=sys.stderr)
            return 1
        finally:
            await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.users", description="Operator console accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a user or change their password/role")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.operator.value)
    sub.add_parser("list", help="list users")
    remove = sub.add_parser("remove", help="delete a user")
    remove.add_argument("name")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
