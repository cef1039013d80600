"""POST /retrieve: batched top-k demonstrations, one encode + one search per (micro-)batch."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shared.contract import ErrorResponse, RetrieveRequest, RetrieveResponse
from shared.versions import select

from retrieval_service.dependencies import StateDep
from retrieval_service.hits import retrieve_json
from retrieval_service.instrumentation import served_by

router = APIRouter(tags=["retrieve"])

ERRORS = {
    404: {"model": ErrorResponse, "description": "pinned version not loaded"},
    413: {"model": ErrorResponse, "description": "body over the size limit"},
    422: {"model": ErrorResponse, "description": "invalid request; `detail` says what to fix"},
    503: {"model": ErrorResponse, "description": "no version loaded yet"},
}


@router.post("/retrieve", response_model=RetrieveResponse, responses=ERRORS)
async def retrieve(body: RetrieveRequest, state: StateDep, request: Request) -> Response:
    """Top-k demonstrations per query, in request order.

    The leakage guard (on by default, `exclude_same_problem`) drops bank entries whose normalised
    problem text equals the query; `exclude_ids` drops given ids per query. Every hit names its version.
    """
    t0 = time.perf_counter()
    version, arm = state.pick(body.version, body.routing_key)
    served_by(request.state, version.name)
    excluded = [
        version.excluded(q, body.exclude_ids[i] if body.exclude_ids else None, body.exclude_same_problem)
        for i, q in enumerate(body.queries)
    ]
    scores, ids = await state.batcher.search(version, body.queries, version.search_width(body.k, excluded))
    rows = select(ids, scores, excluded, body.k)
    latency = time.perf_counter() - t0
    state.metrics.queries.labels(version.name).inc(len(body.queries))
    return Response(retrieve_json(version, rows, arm, latency * 1000), media_type="application/json")
