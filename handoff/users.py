"""Console accounts: argon2-hashed passwords in Redis, three roles — operators and
supervisors talk to clients; a content editor edits the knowledge base only and
never sees a client's conversation or personal data.

CLI:  python -m handoff.users add NAME --role operator|supervisor|content_editor
           [--full-name "Анна Петрова" --position "консультант по налогам"]
      (asks for the password, or reads one line from stdin when piped)
      python -m handoff.users card NAME --full-name "…" --position "…"
      (the name and position an operator introduces themselves with, §4.6.8.2;
      also in the console: /console/profile, handoff/console/profile.py)
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
    content_editor = "content_editor"

    @property
    def sees_clients(self) -> bool:
        """Operators and supervisors work with clients; a content editor does not."""
        return self is not Role.content_editor

    @property
    def edits_content(self) -> bool:
        """Who may edit the knowledge base in the console."""
        return self in (Role.content_editor, Role.supervisor)


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    full_name: str = ""  # how the operator introduces themselves to clients
    position: str = ""

    def introduction(self) -> tuple[str, str]:
        """(full name, position) for the client; the login name is never shown to them."""
        return self.full_name, self.position


CARD_FIELDS = ("full_name", "position")
MAX_CARD = 80
# What clients read on joining: a name is letters (initials and a double surname too); a
# position may have digits and common punctuation. Never markup, links or control characters.
CARD_NAME = re.compile(r"^[A-Za-zА-Яа-яЁё]+(?:[ .'’-]+[A-Za-zА-Яа-яЁё]+)*\.?$")
CARD_POSITION = re.compile(r"^[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё .,;'’«»()№/+-]*$")
CARD_LINK = re.compile(r"[A-Za-z0-9]\.[A-Za-z]|//")  # «evil.ru», «a//b»: a messenger would make it a link


def _user(name: str, h: dict[str, str]) -> User:
    return User(name, Role(h["role"]), h.get("full_name", ""), h.get("position", ""))


class UserError(ValueError):
    pass


def check_card(full_name: str, position: str) -> None:
    """Refuses, in words for the person typing, a name or position a client should not read."""
    if any(len(v) > MAX_CARD for v in (full_name, position)):
        raise UserError(f"Имя и должность — не длиннее {MAX_CARD} символов каждое.")
    if full_name and not CARD_NAME.match(full_name):
        raise UserError("Имя — только буквы, пробелы, точки и дефисы, например «Анна Петрова».")
    if position and not full_name:
        raise UserError("Укажите и имя: без него клиент увидит только должность.")
    if CARD_LINK.search(f"{full_name} {position}"):
        raise UserError("Имя и должность — без ссылок и адресов сайтов.")
    if position and not CARD_POSITION.match(position):
        raise UserError("Должность — буквы, цифры и обычные знаки препинания, например «консультант по налогам».")


class UserStore:
    def __init__(self, redis: Redis):
        self.redis = redis

    async def add(
        self, name: str, password: str, role: Role | str = Role.operator, full_name: str = "", position: str = ""
    ) -> User:
        name = name.strip().lower()
        if not NAME.match(name):
            raise UserError("Имя: 2–32 символа, латинские строчные буквы, цифры, «_», «.», «-».")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"Пароль должен быть не короче {MIN_PASSWORD} символов.")
        role = Role(role)
        hashed = await asyncio.to_thread(_hasher.hash, password)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            handoff_keys.console_user(name),
            mapping={"password": hashed, "role": role.value, "created_at": f"{time.time():.0f}"},
        )
        pipe.sadd(handoff_keys.console_users(), name)
        pipe.delete(handoff_keys.console_account_failures(name))  # a new password lifts a lockout
        await pipe.execute()
        await revoke_user_sessions(self.redis, name)  # a new password or role: sign in again
        if full_name or position:
            return await self.set_card(name, full_name=full_name, position=position)
        return await self.get(name) or User(name, role)

    async def set_card(self, name: str, *, full_name: str, position: str, by: str = "") -> User:
        """The name and position the operator introduces themselves with on joining. `by`:
        who changed it (kept beside it with the time: the console's record of the change)."""
        name = name.strip().lower()
        card = {"full_name": " ".join(full_name.split()), "position": " ".join(position.split())}
        check_card(card["full_name"], card["position"])
        if not await self.redis.exists(handoff_keys.console_user(name)):
            raise UserError("Такого пользователя нет — сначала создайте его командой add.")
        changed = {"card_by": by or "cli", "card_at": f"{time.time():.0f}"}
        await self.redis.hset(handoff_keys.console_user(name), mapping={**card, **changed})
        user = await self.get(name)
        assert user is not None
        return user

    @staticmethod
    def key(name: str) -> str:
        """The account's hash (its password hash too: read only the fields you need)."""
        return handoff_keys.console_user(name.strip().lower())

    async def get(self, name: str) -> User | None:
        h = await self.redis.hgetall(handoff_keys.console_user(name.strip().lower()))
        return _user(name.strip().lower(), h) if h else None

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
            await self.redis.hset(
                handoff_keys.console_user(name), "password", await asyncio.to_thread(_hasher.hash, password)
            )
        return _user(name, h)

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
                user = await store.add(args.name, _read_password(), args.role, args.full_name, args.position)
                print(f"Пользователь {user.name} ({user.role.value}) сохранён.")
            elif args.command == "card":
                user = await store.set_card(args.name, full_name=args.full_name, position=args.position)
                print(f"{user.name}: представляется клиентам как «{user.full_name}, {user.position}».")
            elif args.command == "list":
                for user in await store.all():
                    print(f"{user.name}\t{user.role.value}\t{user.full_name}\t{user.position}")
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
    add.add_argument("--full-name", default="", help="how the operator introduces themselves to clients")
    add.add_argument("--position", default="", help="the operator's position, told to clients on joining")
    card = sub.add_parser("card", help="set the name and position an operator introduces themselves with")
    card.add_argument("name")
    card.add_argument("--full-name", required=True)
    card.add_argument("--position", required=True)
    sub.add_parser("list", help="list users")
    remove = sub.add_parser("remove", help="delete a user")
    remove.add_argument("name")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
