"""App factory: `create_app(settings)`; versions load in the lifespan, nothing is built at import time.

    uvicorn --factory retrieval_service.app:create_app      # settings from RARFT_* env vars
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.contract import ErrorResponse

from retrieval_service import errors
from retrieval_service.instrumentation import RequestMetrics
from retrieval_service.middleware import BodySizeLimit
from retrieval_service.routers import admin, feedback, health, metrics, retrieve, search_r1, versions
from retrieval_service.settings import Settings
from retrieval_service.state import ServiceState


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServiceState(settings)
        app.state.service = state
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="RA-RFT retrieval service",
        summary="Reasoning-aware demonstration retrieval with hot reload and A/B splits",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    errors.install(app)
    for module in (retrieve, search_r1, health, versions, feedback, metrics):
        app.include_router(module.router, responses=_documented(400, 413, 422))
    app.include_router(admin.router, responses=_documented(400, 401, 403, 404, 409, 413, 422))
    routes = [route for module in (retrieve, search_r1, health, versions, feedback, metrics, admin)
              for route in module.router.routes]
    app.add_middleware(RequestMetrics, routes=routes)  # added last = outermost: it sees the 413s too
    return app


_ERROR_TEXT = {
    400: "body is not decodable as JSON text",
    401: "admin token missing",
    403: "admin token wrong",
    404: "admin routes disabled (no token configured), or version not found / not loaded",
    409: "version conflict (already loaded, being loaded, holds all traffic, nothing to roll back)",
    413: "body over the size limit",
    422: "invalid request; `detail` says what to fix",
}


def _documented(*codes: int) -> dict:
    """Every error status a route can answer, in the OpenAPI schema (the fuzz tests hold us to it)."""
    return {code: {"model": ErrorResponse, "description": _ERROR_TEXT[code]} for code in codes}
