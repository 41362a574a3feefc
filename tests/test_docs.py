"""The README documents every setting (one table), and opens with the two commands."""

from __future__ import annotations

import re

from bot.settings import ROOT, Settings


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert not missing, f"document these settings in README.md: {missing}"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:6]
    assert any(line.startswith("make run") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_api_extensions_are_documented_in_english_beside_the_contract(api):
    from bot.channels.telegram import WEBHOOK_PATH as TELEGRAM_WEBHOOK
    from bot.payments.qr import QR_ROUTE
    from bot.payments.web import WEBHOOK_PATH as PAYMENT_WEBHOOK

    doc = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    for promised in (
        "GET /api/v1/conversations/{conversation_id}/messages?after=",
        "`image_url`",
        "`faq_id`",
        "`source_url`",
        PAYMENT_WEBHOOK,
        TELEGRAM_WEBHOOK,
        QR_ROUTE,
        "`/console`",
        "`/call`",
        "do:cancel",
        "curl ",
    ):
        assert promised in doc, promised
    # every page or webhook the running app serves outside the contract is on that page
    app = api._transport.app
    contract = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    served = {r.path for r in app.routes if getattr(r, "path", None)} - contract
    top = {"/" + p.strip("/").split("/")[0] for p in served}
    assert all(t in doc for t in top), sorted(t for t in top if t not in doc)


def test_the_architecture_shows_the_module_contracts_as_they_are():
    from bot import modules

    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = doc.split("## Module contracts", 1)[1].split("###", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in modules.MODULES:
            rows[cells[0]] = tuple(tuple(x.strip("` ") for x in c.split(",") if x.strip("` –")) for c in cells[1:])
    for path in modules.MODULES:
        spec = __import__(path, fromlist=["MODULE"]).MODULE
        assert rows.get(path) == (spec.provides, spec.requires, spec.uses), path


def measured_headline() -> set[str]:
    """The figures the docs must quote: turns/s and p95 at 10 concurrent conversations and
    the app's memory, as the last `make bench` wrote them (benchmarks/results/README.md)."""
    results = (ROOT / "benchmarks" / "results" / "README.md").read_text(encoding="utf-8")
    load = results.split("## Turn latency and throughput", 1)[1]
    row = re.search(r"^\| 10 \| \d+ \| [\d.]+ \| ([\d.]+) \| ([\d.]+) \|", load, re.M)
    memory = re.search(r"^\| assistant [^|]*\| (\d+) \|", results, re.M)
    assert row and memory, "the load and memory tables of benchmarks/results/README.md changed shape"
    return {row.group(2), row.group(1), memory.group(1)}


def test_the_readme_states_the_measured_capacity_and_links_the_deployment_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (ROOT / "docs" / "DEPLOY.md").is_file()
    section = readme.split("## Capacity and scaling", 1)[1].split("\n## ", 1)[0]
    assert readme.index("make test") < readme.index("## Capacity and scaling") < readme.index("## Configuration")
    assert "(docs/DEPLOY.md)" in section
    # every measured number is quoted from the benchmark results it links, never typed in
    results = "".join(
        (ROOT / "benchmarks" / "results" / name).read_text(encoding="utf-8") for name in ("README.md", "scale.md")
    )
    numbers = set(re.findall(r"\d+\.\d+|\d+(?= MB)", section))
    assert measured_headline() <= numbers
    missing = sorted(n for n in numbers if not re.search(rf"\|\s*{re.escape(n)}\s*\|", results))
    assert not missing, f"README «Capacity and scaling» quotes numbers the results do not have: {missing}"
