"""The FastAPI application: health, the HTTP API channel (and, as other
modules register, the operator console and webhooks)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot import metrics, modules
from bot.channels.api import build_router, install_auth_handler, install_error_handlers
from bot.channels.http_guards import AllowHeader, BodyLimit
from bot.runtime import Runtime

DESCRIPTION = """
HTTP channel of the digital assistant (contract: `contract/api.md`).
Send a client's message or a button press to a conversation and receive the
assistant's replies with how it understood the message. Authenticate with the
`X-Api-Key` header.
"""
# Pages for people (HTML forms, redirects), not part of the machine API the schema describes.
PAGES_FOR_PEOPLE = ("/console",)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Цифровой помощник — HTTP API", version="1.0", description=DESCRIPTION)
    app.state.runtime = runtime
    install_error_handlers(app)
    install_auth_handler(app)

    @app.get("/healthz", summary="The process is running")
    async def healthz():
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="NLU model, knowledge base and store are ready",
        responses={
            503: {
                "description": "Not ready; `reason` says which part and what happens meanwhile",
                "content": {
                    "application/json": {"example": {"status": "not_ready", "reason": "NLU (Rasa) is not ready: …"}}
                },
            }
        },
    )
    async def readyz():
        ok, reason = await runtime.readiness()
        return JSONResponse(
            status_code=200 if ok else 503, content={"status": "ready" if ok else "not_ready", "reason": reason}
        )

    metrics.add_route(app, runtime)
    app.include_router(build_router(lambda: app.state.runtime))
    modules.routes(app, runtime)
    _describe_machine_api_only(app)
    app.add_middleware(AllowHeader, routes=lambda: app.router.routes)
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_request_body_bytes)
    return app


def _describe_machine_api_only(app: FastAPI) -> None:
    """The OpenAPI schema lists what programs call; the console's pages are left out."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = {p: v for p, v in schema["paths"].items() if not p.startswith(PAGES_FOR_PEOPLE)}
            _drop_unused_schemas(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


def _drop_unused_schemas(schema: dict[str, Any]) -> None:
    defined = schema.get("components", {}).get("schemas", {})
    used: set[str] = set()
    todo: list[Any] = [schema["paths"]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            name = str(node.get("$ref", "")).removeprefix("#/components/schemas/")
            if name in defined and name not in used:
                used.add(name)
                todo.append(defined[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    if defined:
        schema["components"]["schemas"] = {k: v for k, v in defined.items() if k in used}
