"""Admin routes (bearer token): load / split / promote / rollback / unload, without a restart.

Each change is recorded in the registry's deployment (every replica converges on it) and applied here at
once. Changes run on the loader thread, one at a time; a load checks and warms the version there while the
current split keeps serving, and only a warmed version is recorded and swapped in. Failures answer 4xx and
change nothing.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from shared.contract import LoadVersionRequest, PromoteRequest, TrafficSplit, VersionsResponse

from retrieval_service.dependencies import AdminDep, StateDep
from retrieval_service.state import ServiceState

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


async def _change(state: ServiceState, kind: str, name: str | None = None, weight: float | None = None,
                  weights: dict[str, float] | None = None) -> None:
    await asyncio.get_running_loop().run_in_executor(state.loader, state.change, kind, name, weight, weights)


@router.post("/load", response_model=VersionsResponse)
async def load(body: LoadVersionRequest, state: StateDep) -> VersionsResponse:
    """Load and warm a registry version in the background; with `weight`, give it that share of traffic."""
    await _change(state, "load", body.name, body.weight)
    return state.versions_response()


@router.post("/split", response_model=VersionsResponse)
async def split(body: TrafficSplit, state: StateDep) -> VersionsResponse:
    """Set traffic weights between loaded versions (normalised; the previous split is kept for rollback)."""
    await _change(state, "split", weights=body.weights)
    return state.versions_response()


@router.post("/promote", response_model=VersionsResponse)
async def promote(body: PromoteRequest, state: StateDep) -> VersionsResponse:
    """Send all traffic to one loaded version."""
    await _change(state, "split", weights={body.name: 1.0})
    return state.versions_response()


@router.post("/rollback", response_model=VersionsResponse)
async def rollback(state: StateDep) -> VersionsResponse:
    """Restore the split in force before the last change."""
    await _change(state, "rollback")
    return state.versions_response()


@router.post("/unload", response_model=VersionsResponse)
async def unload(body: PromoteRequest, state: StateDep) -> VersionsResponse:
    """Drop a loaded version (not the one holding all traffic); in-flight requests on it still finish."""
    await _change(state, "unload", body.name)
    return state.versions_response()
