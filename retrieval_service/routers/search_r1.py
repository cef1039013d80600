"""Search-R1-compatible retrieval, so trainers of that ecosystem can point at this service.

Matches `search_r1/search/retrieval_server.py` of Search-R1: request `{"queries", "topk",
"return_scores"}`; response `{"result": [...]}` with, per query, a list of documents `{"id", "contents"}`
or, with `return_scores`, of `{"document": {...}, "score": float}`. `contents` is '"title"\\ntext' as in
its wiki corpus (its clients take the first line as the title); here title = strategy (or id) and
text = problem, solution and answer. Set Search-R1's `retriever.url` to `http://HOST:PORT/search-r1/retrieve`.
The leakage guard applies here too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from shared.contract import SearchR1Request
from shared.versions import select

from retrieval_service.dependencies import StateDep
from retrieval_service.hits import search_r1_document
from retrieval_service.instrumentation import served_by

router = APIRouter(tags=["search-r1"])


@router.post("/search-r1/retrieve")
async def search_r1_retrieve(body: SearchR1Request, state: StateDep, request: Request) -> dict:
    version, _ = state.pick(None, None)
    served_by(request.state, version.name)
    excluded = [version.excluded(q, None, True) for q in body.queries]
    scores, ids = await state.batcher.search(version, body.queries, version.search_width(body.topk, excluded))
    rows = select(ids, scores, excluded, body.topk)
    if body.return_scores:
        result = [[{"document": search_r1_document(version, i), "score": s} for i, s in row] for row in rows]
    else:
        result = [[search_r1_document(version, i) for i, _ in row] for row in rows]
    state.metrics.queries.labels(version.name).inc(len(body.queries))
    return {"result": result}
