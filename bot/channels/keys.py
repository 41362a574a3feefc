"""Redis keys of the MAX channel and the site widget (bot/channels). Layout:

  max:update:<bot>:<hash>   marker: a MAX update already taken by a replica
                            (7 days; MAX updates carry no id of their own, so
                            the hash is of the message id / callback id)
  widget:rate:<site>:<window>  counter: widget messages and connections of one
                            site (all its visitors) in one fixed minute
  widget:live               pub/sub channel: «conversation X has new messages»
                            (a conversation id, nothing else), so every replica
                            wakes the site visitors' open chat windows

(all under the prefix `mb:`). The widget's transcript is the conversation's
outbox stream (handoff/keys.py `outbox`): erased with the conversation.
"""

from __future__ import annotations

from bot.store.keys import NO_CLIENT_DATA, Keyspace

MAX = Keyspace("max", tagged=False)
WIDGET = Keyspace("widget", tagged=False)


@MAX.family(NO_CLIENT_DATA)  # ids of updates, hashed
def max_update(bot: str, update: str) -> str:
    return f"{MAX.prefix}update:{bot}:{update}"


@WIDGET.family(NO_CLIENT_DATA)  # counts per site, not per visitor
def widget_site_rate(site: str, window: int) -> str:
    return f"{WIDGET.prefix}rate:{site}:{window}"


@WIDGET.family(NO_CLIENT_DATA)  # a pub/sub channel: nothing is stored
def widget_live() -> str:
    return f"{WIDGET.prefix}live"
