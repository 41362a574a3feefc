"""A short summary for the operator (pure): what the client asked, what the
bot answered, which flow, why it was handed off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REASONS = {
    "asked": "клиент попросил соединить с оператором",
    "button": "клиент нажал «Соединить с оператором»",
    "not_helped": "ответ помощника не помог",
    "not_understood": "помощник не понял вопрос и предложил варианты",
    "flow": "клиент попросил оператора во время сценария",
    "transfer": "передан другим оператором",
}


@dataclass
class Summary:
    asked: list[str]
    answered: str
    flow: str
    reason: str


def reason_from(history: list[dict[str, Any]], typed: bool, flow: str | None) -> str:
    """Why the client wants a human, from the bot's last reply before the request."""
    if flow:
        return "flow"
    last_bot = next((h for h in reversed(history) if h.get("from") == "bot"), None)
    last_client = next((h for h in reversed(history) if h.get("from") == "client"), None)
    if last_client and (last_client.get("payload") or "").startswith("nok:"):
        return "not_helped"
    if last_bot and last_bot.get("kind") == "options":
        return "not_understood"
    return "asked" if typed else "button"


def summarize(history: list[dict[str, Any]], *, flow: str, reason: str, flow_titles: dict[str, str]) -> Summary:
    questions = [
        h["text"]
        for h in history
        if h.get("from") == "client" and h.get("text") and h.get("intent") not in ("ask_operator", "greet")
    ]
    answer = next((h for h in reversed(history) if h.get("from") == "bot" and h.get("kind") == "answer"), None)
    answered = ""
    if answer:
        first = (answer.get("text") or "").split("\n")[0]
        answered = first[:220] + ("…" if len(first) > 220 else "")
    return Summary(
        asked=questions[-3:],
        answered=answered or "ответа из базы знаний не было",
        flow=flow_titles.get(flow, flow) if flow else "нет",
        reason=REASONS.get(reason, reason or "не указана"),
    )
