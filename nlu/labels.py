"""How contract names map onto Rasa intent labels.

Rasa sees each FAQ topic as its own intent `faq__<topic id>` so that its
ranking already separates topics; the API reports `intent: faq` with the
topic id, exactly as the contract (contract/api.md) asks.
"""

from __future__ import annotations

FAQ_PREFIX = "faq__"


def faq_label(topic_id: str) -> str:
    return FAQ_PREFIX + topic_id


def split_label(label: str) -> tuple[str, str | None]:
    """`faq__usn` -> ("faq", "usn"); `pay_fee` -> ("pay_fee", None)."""
    if label.startswith(FAQ_PREFIX):
        return "faq", label[len(FAQ_PREFIX) :]
    return label, None
