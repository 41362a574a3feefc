"""The FastAPI application: health, the HTTP API channel (and, as other
modules register, the operator console and webhooks)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot import modules
from bot.channels.api import build_router, install_auth_handler, install_error_handlers
from bot.runtime import Runtime

DESCRIPTION = """
HTTP channel of the digital assistant (contract: `contract/api.md`).
Send a client's message or a button press to a conversation and receive the
assistant's replies with how it understood the message. Authenticate with the
`X-Api-Key` header.
"""


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Цифровой помощник — HTTP API", version="1.0", description=DESCRIPTION)
    app.state.runtime = runtime
    install_error_handlers(app)
    install_auth_handler(app)

    @app.get("/healthz", summary="The process is running")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", summary="NLU model, knowledge base and store are ready")
    async def readyz():
        ok, reason = await runtime.readiness()
        return JSONResponse(status_code=200 if ok else 503,
                            content={"status": "ready" if ok else "not_ready", "reason": reason})

    app.include_router(build_router(lambda: app.state.runtime))
    modules.routes(app, runtime)
    return app
