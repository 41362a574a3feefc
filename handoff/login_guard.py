"""Slows down password guessing on the operator console.

After `MAX_PER_ACCOUNT` failed sign-ins to one account, or `MAX_PER_ADDRESS`
from one address, within `WINDOW_S`, further attempts are refused without
checking the password until the window ends. Every attempt is counted
atomically before its password is checked (one Lua step), so thirty parallel
guesses get five checks, not thirty; a right password gives its attempt back.
Counters live in Redis, so every app replica sees them.
"""

from __future__ import annotations

from redis.asyncio import Redis

from handoff import keys as handoff_keys

WINDOW_S = 15 * 60
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20


class LoginGuard:
    def __init__(self, redis: Redis):
        self.redis = redis

    @staticmethod
    def _keys(name: str, address: str) -> tuple[str, str]:
        return handoff_keys.console_account_failures(name.strip().lower()), handoff_keys.console_address_failures(
            address
        )

    async def attempt(self, name: str, address: str) -> int:
        """Count this attempt: 0 when its password may be checked, else seconds until one may."""
        return int(
            await self.redis.eval(
                handoff_keys.LOGIN_ATTEMPT, 2, *self._keys(name, address), WINDOW_S, MAX_PER_ACCOUNT, MAX_PER_ADDRESS
            )
        )

    async def succeeded(self, name: str, address: str) -> None:
        await self.redis.eval(handoff_keys.LOGIN_SUCCEEDED, 2, *self._keys(name, address))
