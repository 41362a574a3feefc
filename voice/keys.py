"""Redis keys of the voice line (voice/):

  voice:callbacks   stream of callback requests made by phone (DefaultDesk,
                    until the handoff module's callback queue takes over)

(under the prefix `mb:`)
"""

from __future__ import annotations

from bot.store.keys import ERASE, Keyspace

VOICE = Keyspace("voice", tagged=False)


VOICE_CALLBACKS_MAXLEN = 10_000


@VOICE.family(ERASE)
def voice_callbacks() -> str:
    return f"{VOICE.prefix}callbacks"
