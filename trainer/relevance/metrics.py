"""Retrieval metrics against the benchmark's strategy annotations and against gold benefit labels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def strategy_match_at_k(query_strategy: str | None, hit_strategies: Sequence[str | None], k: int) -> float | None:
    """Fraction of the top-k hits that share the query's strategy (None when strategies are unknown)."""
    if query_strategy is None:
        return None
    top = list(hit_strategies[:k])
    return sum(s == query_strategy for s in top) / k if top else 0.0


def ndcg_at_k(scores: Sequence[float], benefits: Sequence[float], k: int) -> float:
    """nDCG@k of ranking a pool by `scores` (scikit-learn's graded nDCG; tied scores share their gain), with
    gains = benefit − min benefit of the pool (non-negative).

    The shift keeps the gain of the least helpful candidate at 0, so nDCG measures how much of the pool's
    attainable benefit the top-k captures, whatever the sign convention of the benefits.
    """
    from sklearn.metrics import ndcg_score

    gains = np.asarray(benefits, dtype=np.float64)
    gains = gains - gains.min()
    if len(gains) < 2 or not gains.any():
        return 1.0  # one candidate, or every candidate equally good: any ranking is ideal
    return float(ndcg_score(gains[None, :], np.asarray(scores, dtype=np.float64)[None, :], k=k))


def mean_pairwise_distance(embeddings: np.ndarray) -> float:
    """Mean cosine distance (1 − cos) over distinct pairs of the rows; 0 for fewer than two rows."""
    n = len(embeddings)
    if n < 2:
        return 0.0
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    sims = e @ e.T
    return float((1.0 - sims)[np.triu_indices(n, 1)].mean())


def distinct(values: Sequence[object]) -> int:
    return len({v for v in values if v is not None})


def mean(values: Sequence[float | None]) -> float:
    xs = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(sum(xs) / len(xs)) if xs else float("nan")
