"""Accuracy estimators over n sampled completions per problem.

average@k (the paper's avg@32): the mean, over problems, of the fraction of the k samples that are correct.
pass@k: the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k), for n >= k samples of which c
are correct; it is the probability that at least one of k samples drawn without replacement is correct.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with n samples, c of them correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs at least k samples per problem; got n={n}")
    if n - c < k:  # every draw of k contains a correct sample
        return 1.0
    # Product form of 1 - C(n-c,k)/C(n,k): numerically stable for large n (no huge binomials).
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def average_at_k(correct: Sequence[bool]) -> float:
    """Fraction of one problem's samples that are correct."""
    if not correct:
        raise ValueError("average@k of zero samples is undefined")
    return sum(map(bool, correct)) / len(correct)


def summarize(records: Iterable[dict[str, Any]], pass_ks: Sequence[int]) -> dict[str, Any]:
    """Aggregate per-problem records ({'correct': [bool, ...], 'strategy': str|None, 'wording': str|None}) into
    metrics.

    Returns overall metrics and per-strategy and per-wording breakdowns (the embedded benchmark's familiar / novel /
    unseen question wordings: where a demonstration is the only guide), keyed `avg@n`, `pass@k`, `num_problems`.
    """
    records = list(records)
    if not records:
        raise ValueError("no problems to summarize")
    n = len(records[0]["correct"])
    ks = sorted({k for k in pass_ks if 1 <= k <= n})

    def block(rows: list[dict[str, Any]]) -> dict[str, float]:
        out: dict[str, float] = {"num_problems": len(rows), "num_samples": n}
        out[f"avg@{n}"] = statistics.fmean(average_at_k(r["correct"]) for r in rows)
        for k in ks:
            out[f"pass@{k}"] = statistics.fmean(pass_at_k(len(r["correct"]), sum(r["correct"]), k) for r in rows)
        return out

    by_strategy: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_wording: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if len(r["correct"]) != n:
            raise ValueError("every problem must have the same number of samples")
        if r.get("strategy"):
            by_strategy[str(r["strategy"])].append(r)
        if r.get("wording"):
            by_wording[str(r["wording"])].append(r)
    return {
        "overall": block(records),
        "per_strategy": {s: block(rows) for s, rows in sorted(by_strategy.items())},
        "per_wording": {w: block(rows) for w, rows in sorted(by_wording.items())},
    }


def mean_and_spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one value), min and max over seeds."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no values")
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }
