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
from pathlib import Path

from bot.secret_files import read_or_create_secret

PREFIX = "erased:"


def pseudonym(client_id: str, key: str) -> str:
    digest = hmac.new(key.encode(), client_id.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def is_pseudonym(client_id: str) -> bool:
    return client_id.startswith(PREFIX)


def pseudonym_key(settings) -> str:
    """PRIVACY_PSEUDONYM_KEY, else a key generated once into DATA_DIR/secrets (0600),
    never in Redis: a copy of the store must not hold both the key and the pseudonyms.
    Several replicas share one value through the variable."""
    if settings.privacy_pseudonym_key:
        return settings.privacy_pseudonym_key
    return read_or_create_secret(Path(settings.data_dir) / "secrets" / "privacy.key").decode()
