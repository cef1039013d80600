"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from retrieval_service.dependencies import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    """200 once a loaded version (which passed its warm-up query) holds traffic; 503 before. Both name the
    deployment generation served and, when this replica lags the registry, why."""
    sync = {"generation": state.deployment.generation, "desired_generation": state.desired_generation,
            "sync_error": state.sync_error}
    if state.ready():  # a replica behind the registry still serves its old deployment: ready, and says so
        return JSONResponse({"status": "ready", "split": state.split(), **sync})
    return JSONResponse({"status": "not ready", "detail": "no loaded version holds traffic yet",
                         "rejected": state.rejected, **sync}, status_code=503)
