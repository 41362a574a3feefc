"""Each package owns its Redis keys: one keyspace, one owner module; every
key a family builds lies in its space; scripts are registered once; a tagged
space puts all its keys on one Redis Cluster slot."""

from __future__ import annotations

import importlib
import inspect
import itertools
from types import ModuleType

import pytest

from bot.settings import ROOT
from bot.store import keys

SOURCES = ("bot", "handoff", "voice")


def key_modules() -> list[ModuleType]:
    """The core's keys and every package's keys.py (imported, so they register)."""
    found = [keys]
    for src in SOURCES:
        for path in sorted((ROOT / src).rglob("keys.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if name != keys.__name__:
                found.append(importlib.import_module(name))
    return found


def _sample(fn) -> str:
    args = {name: 7 if p.annotation in ("int", int) else "x" for name, p in inspect.signature(fn).parameters.items()}
    return fn(**args)


def test_every_package_keeps_its_keys_in_its_own_space():
    modules = key_modules()
    assert len(modules) >= 7
    for mod in modules:
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ != mod.__name__:
                continue
            space, _ = keys.FAMILIES[name]
            assert space.owner == mod.__name__, f"{name} is in {space.name}, owned by {space.owner}"
            assert _sample(fn).startswith(space.prefix), f"{mod.__name__}.{name} builds a key outside {space.prefix}"


def test_no_two_modules_share_a_keyspace():
    owners: dict[str, str] = {}
    for space in keys.SPACES.values():
        assert owners.setdefault(space.name, space.owner) == space.owner
    with pytest.raises(keys.KeyspaceTaken, match=r"belongs to handoff\.keys"):
        keys.Keyspace("handoff")  # claimed from this test module, not its owner
    prefixes = sorted(s.prefix for s in keys.SPACES.values())
    for a, b in itertools.pairwise(prefixes):
        assert not b.startswith(a), f"{b} lies inside {a}: two spaces overlap"


def test_a_tagged_space_is_one_cluster_slot():
    tagged = [s for s in keys.SPACES.values() if "{" in s.prefix]
    assert {"handoff", "pay", "booking", "app", "notify", "console"} <= {s.name for s in tagged}
    for space in tagged:
        assert space.prefix == f"{keys.PREFIX}{{{space.name}}}:"


def test_scripts_are_registered_under_their_space():
    key_modules()
    assert {
        "handoff.handoff_claim",
        "booking.book_appointment",
        "pay.create_payment_once",
        "console.login_attempt",
        "conv.release_lock",
    } <= set(keys.SCRIPTS)
