"""The pseudonym that replaces a client id in the records kept after an erasure.

A keyed hash (HMAC-SHA-256): the same client id always gives the same
pseudonym, so staff who know a client id (from a complaint, a court request)
can find the kept records again, but the pseudonym alone does not reveal the
id, and without the key nobody can check a guessed id (a Telegram id is a
small number: an unkeyed hash could be reversed by trying them all).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from redis.asyncio import Redis

from bot.store import keys

PREFIX = "erased:"


def pseudonym(client_id: str, key: str) -> str:
    digest = hmac.new(key.encode(), client_id.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def is_pseudonym(client_id: str) -> bool:
    return client_id.startswith(PREFIX)


async def pseudonym_key(redis: Redis, configured: str = "") -> str:
    """PRIVACY_PSEUDONYM_KEY, or one generated once and kept in Redis (then a copy of
    Redis holds both the key and the pseudonyms: set the variable in production)."""
    if configured:
        return configured
    await redis.set(keys.privacy_secret(), secrets.token_hex(32), nx=True)
    return await redis.get(keys.privacy_secret())
