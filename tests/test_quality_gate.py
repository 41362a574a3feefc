"""The gate's configuration keeps up with the code: every flow is type-checked strictly."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handoff", "voice")


def _strict_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    overrides = config["tool"]["mypy"]["overrides"]
    strict = [o for o in overrides if o.get("disallow_untyped_defs") and o.get("disallow_any_generics")]
    assert len(strict) == 1, "one strict section in [tool.mypy]"
    return strict[0]["module"]


def _covered(module: str, patterns: list[str]) -> bool:
    return any(module == p or (p.endswith(".*") and module.startswith(p[:-1])) for p in patterns)


def test_every_flow_and_state_machine_is_checked_strictly():
    patterns = _strict_modules()
    flows = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"^\s+def step\(", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert len(flows) >= 8  # the search itself still finds the flows
    assert [m for m in flows if not _covered(m, patterns)] == []
    assert _covered("bot.core.engine", patterns) and _covered("bot.flows.base", patterns)


def test_the_strict_list_names_only_modules_that_exist():
    for pattern in _strict_modules():
        path = ROOT / Path(*pattern.removesuffix(".*").split("."))
        assert path.is_dir() or path.with_suffix(".py").is_file(), pattern
