"""Messages the assistant sends on its own (operator replies, notifications,
payment confirmations): each channel registers how it delivers to a
conversation; senders return False when delivery is impossible right now."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.messages import Reply

log = logging.getLogger("channels.outbound")

# (conversation_id, client_id, replies) -> delivered?
Sender = Callable[[str, str, list[Reply]], Awaitable[bool]]


class Outbound:
    def __init__(self) -> None:
        self.senders: dict[str, Sender] = {}

    def register(self, channel: str, sender: Sender) -> None:
        self.senders[channel] = sender

    async def send(self, channel: str, conversation_id: str, client_id: str, replies: list[Reply]) -> bool:
        sender = self.senders.get(channel)
        if sender is None:
            log.warning("no sender for channel %s", channel)
            return False
        return await sender(conversation_id, client_id, replies)
