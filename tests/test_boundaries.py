"""Packages talk through public names only: no module imports another
package's private names (a leading underscore) or reaches into the engine or
the runtime's private parts. Inside a package, anything goes."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.settings import ROOT

SOURCES = ["bot", "handoff", "voice", "knowledge_base", "nlu"]
SKIP = {"nlu/components"}  # Rasa's side: its own virtualenv
SHARED_OBJECTS = {"engine", "engine_", "runtime", "turn"}  # handed to every module


def package_of(module: str) -> str:
    """bot.payments.flow → bot.payments; handoff.console → handoff; bot.app → bot."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 2 else parts[0]


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def violations(path: Path) -> list[str]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    here = package_of(module)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, foreign_modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if package_of(node.module) == here or node.module.split(".")[0] not in SOURCES:
                continue
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{module}:{node.lineno} imports {node.module}.{alias.name}")
                else:
                    foreign_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SOURCES and package_of(alias.name) != here:
                    foreign_modules.add((alias.asname or alias.name).split(".")[0])
    if here == "bot.core":
        return found  # the engine's own module may use its private parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr) and isinstance(node.value, ast.Name):
            owner = node.value.id
            if owner in SHARED_OBJECTS or owner in foreign_modules:
                found.append(f"{module}:{node.lineno} uses {owner}.{node.attr}")
    return found


def test_no_package_uses_another_packages_private_names():
    files = [
        p
        for src in SOURCES
        for p in (ROOT / src).rglob("*.py")
        if not any(str(p.relative_to(ROOT)).startswith(s) for s in SKIP)
    ]
    assert len(files) > 50
    found = [v for p in files for v in violations(p)]
    assert not found, "use the public API (e.g. Engine.run_step / flow_context):\n" + "\n".join(found)


def test_the_check_sees_a_violation():
    bad = ROOT / "bot" / "payments" / "_boundary_probe.py"
    bad.write_text("from bot.core.engine import _STALE\n\ndef f(engine):\n    return engine._typed_state\n")
    try:
        assert len(violations(bad)) == 2
    finally:
        bad.unlink()
