"""A wheel carries every data file the assistant reads next to its code.

Checked against pyproject.toml the way setuptools reads it (packages found
by `include` patterns, `package-data` globs relative to each package), so
it needs no build; `pip wheel .` gives the same listing."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from bot.settings import ROOT

DATA_DIRS = ["handoff/templates", "handoff/static", "bot/consent/templates", "voice/static", "knowledge_base/topics"]
DATA_FILES = [
    "handoff/schedule.yaml",
    "bot/payments/fees.yaml",
    "bot/consent/consent_texts.yaml",
    "bot/core/calibration.yaml",
]


def _packages(patterns: list[str]) -> set[str]:
    found = set()
    tops = [d for d in ROOT.iterdir() if (d / "__init__.py").is_file() and not d.name.startswith(".")]
    for init in (i for top in tops for i in top.glob("**/__init__.py")):
        rel = init.parent.relative_to(ROOT)
        name = ".".join(rel.parts)
        if not any(part.startswith(".") for part in rel.parts) and any(fnmatch(name, p) for p in patterns):
            found.add(name)
    return found


def _shipped(path: Path, packages: set[str], package_data: dict[str, list[str]]) -> bool:
    rel = path.relative_to(ROOT)
    for depth in range(len(rel.parts) - 1, 0, -1):  # the nearest package owns the file
        name = ".".join(rel.parts[:depth])
        if name in packages:
            inside = "/".join(rel.parts[depth:])
            return any(fnmatch(inside, glob) for glob in package_data.get(name, []))
    return False


def test_wheel_ships_templates_static_files_and_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = _packages(config["packages"]["find"]["include"])
    assert {"bot.core", "bot.channels", "bot.consent", "bot.payments", "handoff", "voice", "nlu.components"} <= packages
    files = [ROOT / f for f in DATA_FILES]
    for folder in DATA_DIRS:
        found = [p for p in (ROOT / folder).iterdir() if p.is_file()]
        assert found, folder
        files += found
    missing = [str(f.relative_to(ROOT)) for f in files if not _shipped(f, packages, config["package-data"])]
    assert not missing, f"not in the wheel: {missing}"
