"""Proactive campaigns: a message, its category and who it is for.

A campaign is data (a YAML file, the CLI, or the operator console through
`create_campaign` / `launch_campaign`). Launching queues one notification per
consenting client — idempotent per (campaign, client), so launching twice
never sends twice; the sender re-checks consent when it actually sends.

CLI:
  python -m bot.consent.campaigns create --file campaign.yaml
  python -m bot.consent.campaigns create --id tax-deadline --category trigger \
      --situation taxes --segment ip --title "Срок УСН" --text "До 25 апреля …"
  python -m bot.consent.campaigns launch tax-deadline
  python -m bot.consent.campaigns list
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from redis.asyncio import Redis

from bot.consent import keys as consent_keys
from bot.store import keys
from knowledge_base.models import LIFE_SITUATIONS, Segment

from .ledger import Ledger
from .model import ALL, MAX_SCOPE, Category
from .notifications import Clock, enqueue
from .policy import covering_grant


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    title: str = Field(min_length=3, max_length=120)  # for staff; clients see `text`
    category: Category
    text: str = Field(min_length=10, max_length=1500)
    life_situation: str | None = None  # None and no service: clients who agreed to «все темы»
    service: str | None = Field(None, pattern=rf"^[a-z0-9_.-]{{1,{MAX_SCOPE - 1}}}$")
    segments: list[Segment] = Field(default_factory=list)  # empty: every segment
    created_by: str = "cli"
    created_at: float = Field(default_factory=time.time)

    @field_validator("life_situation")
    @classmethod
    def _known_situation(cls, value: str | None) -> str | None:
        if value is not None and value not in LIFE_SITUATIONS:
            raise ValueError(f"unknown life situation {value!r}; use one of {sorted(LIFE_SITUATIONS)}")
        return value

    @model_validator(mode="after")
    def _proactive_only(self) -> Campaign:
        if self.category is Category.transactional:
            raise ValueError("transactional messages are not campaigns: modules send them with notify()")
        if self.life_situation and self.service:
            raise ValueError("target a life situation or an individual service, not both")
        return self

    @property
    def scope(self) -> str:
        """The consent a client must have given for this campaign to reach them."""
        if self.service:
            return f"service:{self.service}"
        return f"situation:{self.life_situation or ALL}"


@dataclass
class LaunchReport:
    clients: int = 0  # clients with any ledger record
    queued: int = 0
    already_queued: int = 0  # launched before: not queued again
    no_consent: int = 0
    other_segment: int = 0


class CampaignExists(ValueError):
    pass


def load_campaign_file(path: Path) -> Campaign:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Campaign.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'campaign'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {problems}") from exc


async def create_campaign(redis: Redis, campaign: Campaign) -> Campaign:
    """Store a new campaign (ids are never reused: the ledger and deliveries refer to them)."""
    if not await redis.set(consent_keys.campaign(campaign.id), campaign.model_dump_json(), nx=True):
        raise CampaignExists(f"campaign {campaign.id!r} already exists; choose another id")
    await redis.zadd(consent_keys.campaigns(), {campaign.id: campaign.created_at})
    return campaign


async def get_campaign(redis: Redis, campaign_id: str) -> Campaign | None:
    raw = await redis.get(consent_keys.campaign(campaign_id))
    return Campaign.model_validate_json(raw) if raw else None


async def list_campaigns(redis: Redis) -> list[Campaign]:
    ids = await redis.zrange(consent_keys.campaigns(), 0, -1)
    return [c for c in [await get_campaign(redis, i) for i in ids] if c]


async def launch_campaign(
    redis: Redis, campaign_id: str, *, clock: Clock = time.time, dry_run: bool = False
) -> LaunchReport:
    """Queue the campaign for every client whose consent and segment fit.

    `dry_run` only counts (`queued` = would be queued now): the console shows
    the reach before a supervisor launches."""
    campaign = await get_campaign(redis, campaign_id)
    if campaign is None:
        raise KeyError(f"no campaign {campaign_id!r}")
    ledger, report = Ledger(redis), LaunchReport()
    wanted = {s.value for s in campaign.segments}
    for client_id in await ledger.clients():
        report.clients += 1
        if wanted and (await redis.hget(keys.client(client_id), "segment") or "universal") not in wanted:
            report.other_segment += 1
            continue
        if covering_grant(await ledger.state(client_id), campaign.scope) is None:
            report.no_consent += 1
            continue
        if dry_run:
            done = await redis.exists(consent_keys.notification(f"c:{campaign.id}:{client_id}"))
            report.already_queued += bool(done)
            report.queued += not done
            continue
        nid = await enqueue(
            redis,
            client_id,
            campaign.category,
            campaign.text,
            scope=campaign.scope,
            campaign=campaign.id,
            key=f"c:{campaign.id}:{client_id}",
            clock=clock,
        )
        if nid:
            report.queued += 1
        else:
            report.already_queued += 1
    return report


async def delivery_counts(redis: Redis, campaign_id: str) -> dict[str, int]:
    """How the campaign's notifications stand: status (queued, sent, skipped, …) → count."""
    clients = await Ledger(redis).clients()
    counts: dict[str, int] = {}
    pipe = redis.pipeline(transaction=False)
    for client_id in clients:
        pipe.hget(consent_keys.notification(f"c:{campaign_id}:{client_id}"), "status")
    for status in await pipe.execute() if clients else []:
        if status:
            counts[status] = counts.get(status, 0) + 1
    return counts


# --------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.consent.campaigns", description="Create and launch proactive campaigns."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="store a campaign (from --file or options)")
    create.add_argument("--file", type=Path, help="a campaign YAML file")
    create.add_argument("--id")
    create.add_argument("--title")
    create.add_argument("--category", choices=[Category.content.value, Category.trigger.value])
    create.add_argument("--text")
    create.add_argument("--situation", dest="life_situation", choices=sorted(LIFE_SITUATIONS))
    create.add_argument("--service")
    create.add_argument("--segment", dest="segments", action="append", default=[], choices=[s.value for s in Segment])
    create.add_argument("--launch", action="store_true", help="queue it right away")
    launch = sub.add_parser("launch", help="queue a stored campaign for the consenting clients")
    launch.add_argument("campaign_id")
    sub.add_parser("list", help="list campaigns")
    return parser


async def _main(args: argparse.Namespace) -> int:
    from .cli import open_redis

    async with open_redis() as redis:
        if args.command == "list":
            for c in await list_campaigns(redis):
                target = c.service or c.life_situation or "все темы"
                print(
                    f"{c.id}\t{c.category.value}\t{target}\t{','.join(s.value for s in c.segments) or '*'}\t{c.title}"
                )
            return 0
        if args.command == "create":
            if args.file:
                campaign = load_campaign_file(args.file)
            else:
                fields = {
                    k: getattr(args, k)
                    for k in ("id", "title", "category", "text", "life_situation", "service", "segments")
                }
                try:
                    campaign = Campaign.model_validate({k: v for k, v in fields.items() if v not in (None, [])})
                except ValidationError as exc:
                    print(f"campaign not valid: {exc}", file=sys.stderr)
                    return 2
            await create_campaign(redis, campaign)
            print(f"created campaign {campaign.id} (needs consent {campaign.scope})")
            if not args.launch:
                return 0
            args.campaign_id = campaign.id
        report = await launch_campaign(redis, args.campaign_id)
        print(
            f"campaign {args.campaign_id}: {report.queued} queued, {report.already_queued} queued before, "
            f"{report.no_consent} without consent, {report.other_segment} in other segments "
            f"(of {report.clients} clients with a consent record)"
        )
        return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
