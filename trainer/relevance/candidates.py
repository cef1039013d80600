"""Candidate pools: for each training query, the semantic top-N of the current retriever plus M random rows.

The semantic part is what the deployed retriever would show the policy (its hard cases); the random part
covers the rest of the bank, so the labels also rate demonstrations the semantic retriever never surfaces
(for the embedded benchmark: same-strategy rows with a different surface theme). The query itself is
excluded by id and by normalised problem text, so a pool never leaks the answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from shared.contract import Demonstration
from shared.errors import UserError
from shared.text import normalize_problem


@dataclass(frozen=True)
class Candidate:
    demo: Demonstration
    source: str  # "semantic" or "random"
    rank: int  # rank within its source (semantic: retriever rank; random: draw order)
    score: float | None = None  # retriever similarity for semantic candidates


@dataclass(frozen=True)
class Pool:
    query: Demonstration
    candidates: tuple[Candidate, ...]


def semantic_hits_inprocess(version, queries: Sequence[Demonstration], n: int) -> list[list[tuple[Demonstration, float]]]:
    """Top-n bank rows per query from a LoadedVersion (shared.versions): the query's own id and rows of its problem are excluded."""
    hits = version.search([q.problem for q in queries], n, [[q.id] for q in queries], batch_size=64)
    return [[(version.bank[i], s) for i, s in row] for row in hits]


def semantic_hits_http(client, queries: Sequence[Demonstration], n: int, version: str | None = None,
                       chunk: int = 32) -> list[list[tuple[Demonstration, float]]]:
    """Top-n per query from a running service through trainer.client.RetrievalClient (batched requests)."""
    out: list[list[tuple[Demonstration, float]]] = []
    for start in range(0, len(queries), chunk):
        part = list(queries[start:start + chunk])
        resp = client.retrieve([q.problem for q in part], k=n, exclude_ids=[[q.id] for q in part], version=version)
        out.extend([(h.demonstration, h.score) for h in hits] for hits in resp.results)
    return out


def build_pools(queries: Sequence[Demonstration], bank: Sequence[Demonstration],
                semantic: list[list[tuple[Demonstration, float]]] | None, num_random: int, seed: int) -> list[Pool]:
    """Merge semantic hits with `num_random` distinct random bank rows per query (seeded per query id)."""
    if semantic is not None and len(semantic) != len(queries):
        raise ValueError("one semantic hit list per query is required")
    pools: list[Pool] = []
    for qi, query in enumerate(queries):
        qnorm = normalize_problem(query.problem)
        cands: list[Candidate] = []
        seen: set[str] = set()
        for rank, (demo, score) in enumerate(semantic[qi] if semantic else []):
            if demo.id == query.id or normalize_problem(demo.problem) == qnorm or demo.id in seen:
                continue
            seen.add(demo.id)
            cands.append(Candidate(demo, "semantic", rank, score))
        # A per-query RNG keeps a query's pool identical however the run is chunked or resumed.
        rng = random.Random(f"{seed}:{query.id}")
        order = list(range(len(bank)))
        rng.shuffle(order)
        drawn = 0
        for i in order:
            if drawn >= num_random:
                break
            demo = bank[i]
            if demo.id == query.id or demo.id in seen or normalize_problem(demo.problem) == qnorm:
                continue
            seen.add(demo.id)
            cands.append(Candidate(demo, "random", drawn))
            drawn += 1
        if not cands:
            raise UserError(f"the candidate pool of query {query.id!r} is empty: the bank has no other row to rate")
        pools.append(Pool(query, tuple(cands)))
    return pools
