"""Operator console sessions, kept on the server.

The browser holds a random session id. Redis holds only a keyed hash of it
(HMAC with the console secret, which lives in the environment or in a 0600
file, never in Redis), with the user name and the session's CSRF token. So a
copy of the Redis data cannot be turned into a working cookie; logout revokes
the session for good; removing a user or giving them a new password ends all
their sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bot.secret_files import read_or_create_secret
from handoff import keys as handoff_keys


def console_secret(settings) -> bytes:
    """CONSOLE_SECRET_KEY, else a key generated once into DATA_DIR/secrets (0600)."""
    if settings.console_secret_key:
        return settings.console_secret_key.encode()
    return read_or_create_secret(Path(settings.data_dir) / "secrets" / "console.key")


@dataclass(frozen=True)
class StoredSession:
    user: str
    csrf: str


class SessionStore:
    def __init__(self, redis: Redis, secret: bytes, ttl_seconds: int):
        self.redis = redis
        self.secret = secret
        self.ttl = ttl_seconds

    def _id(self, token: str) -> str:
        return hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()

    async def create(self, user: str) -> str:
        """A new session for `user`; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        sid = self._id(token)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            handoff_keys.console_session(sid),
            mapping={"user": user, "csrf": secrets.token_urlsafe(24), "created_at": f"{time.time():.0f}"},
        )
        pipe.expire(handoff_keys.console_session(sid), self.ttl)
        pipe.sadd(handoff_keys.console_user_sessions(user), sid)
        pipe.expire(handoff_keys.console_user_sessions(user), self.ttl)
        await pipe.execute()
        return token

    async def get(self, token: str | None) -> StoredSession | None:
        if not token or len(token) > 128:
            return None
        h = await self.redis.hgetall(handoff_keys.console_session(self._id(token)))
        return StoredSession(h["user"], h["csrf"]) if h.get("user") and h.get("csrf") else None

    async def revoke(self, token: str | None) -> None:
        if not token:
            return
        sid = self._id(token)
        user = await self.redis.hget(handoff_keys.console_session(sid), "user")
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(handoff_keys.console_session(sid))
        if user:
            pipe.srem(handoff_keys.console_user_sessions(user), sid)
        await pipe.execute()


async def revoke_user_sessions(redis: Redis, user: str) -> int:
    """End every session of `user` (removed, or given a new password or role)."""
    sids = await redis.smembers(handoff_keys.console_user_sessions(user))
    pipe = redis.pipeline(transaction=True)
    for sid in sids:
        pipe.delete(handoff_keys.console_session(sid))
    pipe.delete(handoff_keys.console_user_sessions(user))
    await pipe.execute()
    return len(sids)
