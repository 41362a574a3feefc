"""Personal data in the client profile, with the purposes it was collected for.

The profile hash (`keys.client`) holds pre-fill values (ФИО, ИНН, phone …).
Each value written through `remembered` (a flow's `Step.profile`) is noted with its purpose — the
personal-data consent it was given under — in the `pd_sources` field, so
that withdrawing one consent deletes exactly the values collected under it
(a phone given for a callback and again for an application stays while one
of the two consents is active). Values stored before sources were recorded
count as collected under every consent whose text covers them (`COVERS`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

SOURCES = "pd_sources"  # profile field: JSON {field: [purpose, …]}

# What each personal-data consent text (bot/consent/consent_texts.yaml) lets us keep in the profile.
COVERS: dict[str, frozenset[str]] = {
    "applications": frozenset({"full_name", "birth_date", "inn", "ogrn", "phone", "email"}),
    "callback": frozenset({"phone"}),
    "appointments": frozenset(),
    "payments": frozenset(),
}
PERSONAL_FIELDS = frozenset().union(*COVERS.values())


def sources(profile: Mapping[str, str]) -> dict[str, list[str]]:
    try:
        raw = json.loads(profile.get(SOURCES) or "{}")
    except ValueError:
        return {}
    return {k: [str(p) for p in v] for k, v in raw.items() if isinstance(v, list)} if isinstance(raw, dict) else {}


def remembered(profile: Mapping[str, str], purpose: str, values: Mapping[str, str]) -> dict[str, str]:
    """Pure: the profile fields to write so that `values` are kept with their purpose
    (the values themselves and the updated `pd_sources`). For a flow's `Step.profile`."""
    if not values:
        return {}
    known = sources(profile)
    for name, value in values.items():
        if profile.get(name) != value:  # a new value: only this purpose has it
            known[name] = []
        if purpose not in known.setdefault(name, []):
            known[name].append(purpose)
    return {**values, SOURCES: json.dumps(known, sort_keys=True)}


def withdrawal_plan(
    profile: dict[str, str], withdrawn: Iterable[str], active: Iterable[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """(fields to delete, the sources left) when the consents `withdrawn` end and `active` remain."""
    withdrawn, active = set(withdrawn), set(active) - set(withdrawn)
    known = sources(profile)
    delete, left = [], {}
    for name in sorted(set(known) | (PERSONAL_FIELDS & set(profile))):
        if name not in profile:
            continue
        if name in known:
            keep = [p for p in known[name] if p in active]
            if keep:
                left[name] = keep
            else:
                delete.append(name)
        elif any(name in COVERS.get(p, ()) for p in withdrawn) and not any(name in COVERS.get(p, ()) for p in active):
            delete.append(name)  # stored before sources were recorded: covered by what was withdrawn
    return delete, left
