"""Analytics over the anonymized turn log (R-21, standard section 6 indicators).

`make analytics` prints the quality indicators of the standard (bot/indicators) for
a period (`--from`, `--to`, `--channel`, `--situation`; `--csv` / `--xlsx` write
them for the project office), then: turns, fallback (out-of-scope) rate, clarify and
options rates, handoff rate, «помогло»/«не помогло» counts, answers per life
situation and channel, and the most frequent unanswered questions — the
candidates for new knowledge-base entries.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.masking import mask_personal_data
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.indicators.report import Report as IndicatorReport


@dataclass
class Report:
    turns: int = 0
    text_turns: int = 0
    decisions: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)
    unanswered: Counter = field(default_factory=Counter)

    def rate(self, *decisions: str) -> float:
        return sum(self.decisions[d] for d in decisions) / self.text_turns if self.text_turns else 0.0


def build_report(events: list[dict[str, str]]) -> Report:
    report = Report()
    for event in events:
        report.turns += 1
        report.channels[event.get("channel", "?")] += 1
        decision = event.get("decision", "")
        report.decisions[decision] += 1
        if event.get("text"):
            report.text_turns += 1
        if event.get("faq_id") and decision == "act":
            report.topics[event["faq_id"]] += 1
        if decision in ("out_of_scope", "options") and event.get("text"):
            report.unanswered[" ".join(event["text"].lower().split())] += 1
    return report


def format_report(report: Report, top: int = 15) -> str:
    d = report.decisions
    lines = [
        f"Turns: {report.turns} (text messages: {report.text_turns})",
        f"Fallback rate (out of scope):  {report.rate('out_of_scope'):.1%}",
        f"Clarify rate («Вы имели в виду»): {report.rate('clarify'):.1%}",
        f"Options rate (top-3 offered):  {report.rate('options'):.1%}",
        f"Handoffs to an operator:       {d['handoff']}",
        f"«Помогло» / «Не помогло»:      {d['button:ok'] + d['resolved:yes']} / {d['button:nok'] + d['resolved:no']}",
        "Channels: " + ", ".join(f"{k} {v}" for k, v in report.channels.most_common()),
        "",
        "Most answered topics:",
        *[f"  {n:5d}  {topic}" for topic, n in report.topics.most_common(top)],
        "",
        "Top unanswered questions (candidates for new FAQ entries):",
        # masked again: events written before the masker knew a kind of personal data
        *[f"  {n:5d}  {mask_personal_data(text)}" for text, n in report.unanswered.most_common(top)],
    ]
    return "\n".join(lines)


async def main(settings: Settings, options: Any = None) -> int:
    """Print the indicators for a period (and write CSV / XLSX when asked), then the turn report."""
    from bot.indicators.export import period_line, to_csv, to_xlsx
    from bot.indicators.report import Filter
    from bot.indicators.service import Indicators
    from bot.runtime import analytics_salt
    from bot.store import connect
    from bot.store.events import EventLog
    from bot.store.redis_server import local_redis_url
    from knowledge_base.loader import load_knowledge_base

    kb = load_knowledge_base(settings.kb_dir)
    with local_redis_url(settings.redis_url, settings.data_dir) as url:
        redis = connect(url)
        try:
            indicators = Indicators(redis, kb, settings)
            first, last = indicators.default_period()
            start = getattr(options, "start", None) or first
            end = getattr(options, "end", None) or last
            f = Filter(start, end, getattr(options, "channel", ""), getattr(options, "situation", ""))
            report = await indicators.report(f)
            print(period_line(report))
            print(format_indicators(report))
            for path, render in ((getattr(options, "csv", ""), to_csv), (getattr(options, "xlsx", ""), to_xlsx)):
                if path:
                    await asyncio.to_thread(Path(path).write_bytes, render(report))
                    print(f"Written: {path}")
            print()
            events = await EventLog(redis, await analytics_salt(redis)).read_all()
            print(format_report(build_report(events)))
        finally:
            await redis.aclose()
    return 0


def format_indicators(report: IndicatorReport) -> str:
    lines = ["Standard, table 1 (value · sample · level):"]
    lines += [f"  {i.title}: {i.shown()} · {i.sample} · {i.level}" for i in report.standard]
    lines += ["The assistant and the operators (value · out of):"]
    lines += [f"  {i.title}: {i.shown()} · {i.sample}" for i in report.assistant]
    return "\n".join(lines)
