"""Module contracts: what each feature module provides, requires and uses
decides the install order; a missing or circular requirement stops the
start-up with a clear message; every service is a typed Runtime field."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bot import modules
from bot.modules import Module, ModuleError, order
from bot.runtime import Runtime


def test_the_install_order_comes_from_the_contracts_not_the_list():
    specs = modules.specs()
    for shuffled in range(5):
        names = list(modules.MODULES)
        random.Random(shuffled).shuffle(names)
        placed = [m.name for m in modules.specs(names)]
        position = {name: i for i, name in enumerate(placed)}
        for spec in specs:
            for service in (*spec.requires, *spec.uses):
                provider = next(m.name for m in specs if service in m.provides)
                assert position[provider] < position[spec.name], (provider, spec.name, placed)


def test_a_missing_requirement_names_what_to_add():
    with pytest.raises(ModuleError, match=r"'booking' requires 'consent'.*add the module"):
        order([Module("booking", provides=("booking",), requires=("consent",))])


def test_modules_that_need_each_other_in_a_circle_are_refused():
    with pytest.raises(ModuleError, match="circle: a → b → a"):
        order([Module("a", provides=("a",), uses=("b",)), Module("b", provides=("b",), requires=("a",))])


def test_a_used_service_may_be_absent():
    assert [m.name for m in order([Module("voice", provides=("voice",), uses=("handoff",))])] == ["voice"]


def test_two_providers_of_one_service_are_refused():
    with pytest.raises(ModuleError, match="both a and b provide 'x'"):
        order([Module("a", provides=("x",)), Module("b", provides=("x",))])


def test_every_service_is_a_typed_runtime_field_and_is_installed(runtime):
    fields = {f.name for f in dataclasses.fields(Runtime)}
    for spec in modules.specs():
        for service in spec.provides:
            assert service in fields, f"{spec.name} provides {service!r}: declare it on Runtime"
            if service not in ("telegram", "max"):  # need TELEGRAM_BOT_TOKEN / MAX_BOT_TOKEN
                assert modules.installed(runtime, service), service
