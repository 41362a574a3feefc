"""«Personal-data consents withdrawn»: the event other modules act on.

Withdrawing a personal-data consent means deleting what was collected under
it (152-ФЗ art. 9 part 2, art. 21 part 5). The consent flow asks for that with
the effect `ForgetPersonalData`, after the ledger write that withdraws; the
consent module handles it by calling whoever subscribed to the event
(`ConsentService.on_personal_data_withdrawn`: bot/privacy deletes the data) and
reports back `DataDeleted`, which the flow renders. So the consent package
needs nothing from the modules that delete: they require consent, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.flows.base import Effect, EffectContext, Outcome


@dataclass(frozen=True)
class ForgetPersonalData(Effect):
    """The personal-data consents for `purposes` are withdrawn (already in the ledger):
    delete what was collected under them. Safe to repeat."""

    purposes: tuple[str, ...]


@dataclass(frozen=True)
class DataDeleted(Outcome):
    """What was deleted and what is kept, in the client's words."""

    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    # The client profile's changes already made (a value, or None: deleted); the turn
    # in progress takes them too, so nothing it writes brings a deleted value back.
    profile: Mapping[str, str | None] = field(default_factory=dict)
    # Flows that hold such data: in this conversation they end too, even when set aside.
    flows: tuple[str, ...] = ()
    checked: bool = True  # False: no enabled module deletes personal data (nothing to tell)

    def plus(self, other: DataDeleted) -> DataDeleted:
        """Two subscribers' reports as one."""
        return DataDeleted(
            deleted=_joined(self.deleted, other.deleted),
            kept=_joined(self.kept, other.kept),
            profile={**self.profile, **other.profile},
            flows=_joined(self.flows, other.flows),
            checked=self.checked or other.checked,
        )


# A subscriber: deletes what was collected under the purposes, says what it did.
Forget = Callable[[tuple[str, ...], EffectContext], Awaitable[DataDeleted]]


def _joined(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(first + second))
