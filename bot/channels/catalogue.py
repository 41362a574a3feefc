"""Every channel the assistant speaks through, and what each supports: the
README's channel table is made from this (tests/test_channels_table.py
checks the two agree, and that the list matches the channels registered)."""

from __future__ import annotations

import importlib

# channel (as in Incoming.channel and runtime.outbound) → the module that declares its FEATURES
CHANNELS: dict[str, str] = {
    "telegram": "bot.channels.telegram",
    "max": "bot.channels.max",
    "widget": "bot.channels.widget",
    "api": "bot.channels.api",
    "voice": "voice.module",
    "terminal": "bot.channels.terminal",
}
COLUMNS = ("text", "buttons", "operator", "notifications", "payments", "voice messages")


def features() -> dict[str, dict[str, str]]:
    return {name: importlib.import_module(path).FEATURES for name, path in CHANNELS.items()}


def table() -> str:
    """The Markdown table of the README's «Channels» section."""
    rows = ["| channel | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, feats in features().items():
        rows.append(f"| `{name}` | " + " | ".join(feats[c] for c in COLUMNS) + " |")
    return "\n".join(rows)
