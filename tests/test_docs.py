"""The README documents every setting (one table), and opens with the two commands."""

from __future__ import annotations

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
    from bot.payments.web import WEBHOOK_PATH as PAYMENT_WEBHOOK
    from bot.payments.qr import QR_ROUTE

    doc = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    for promised in ("GET /api/v1/conversations/{conversation_id}/messages?after=", "`image_url`", "`faq_id`",
                     "`source_url`", PAYMENT_WEBHOOK, TELEGRAM_WEBHOOK, QR_ROUTE, "`/console`", "`/call`",
                     "do:cancel", "curl "):
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
