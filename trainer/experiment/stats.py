"""Paired differences between two evaluated policies, and a hierarchical bootstrap of their mean.

Pairing per problem removes the between-problem variance (hard problems are hard for every arm). What is left
varies at three levels, and the CI has to include each: training seeds (another RL run), question templates
(another wording of the same strategies: test problems of one template are not independent) and problems. So each
resample draws seeds with replacement, then templates, then problems within each drawn template; seeds and
problems are crossed (every seed evaluates the same problems), which the weight form below handles exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class BootstrapResult(BaseModel):
    """One paired bootstrap; results.json's comparisons extend it (trainer.experiment.schema.ComparisonResult)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    estimate: float  # mean paired difference over every seed and problem
    ci_low: float
    ci_high: float
    p_one_sided: float  # H1: difference > 0
    se: float
    n_resamples: int
    n_seeds: int
    n_problems: int
    n_clusters: int
    confidence: float
    per_seed: list[float] = Field(default_factory=list)  # each seed's mean difference


def paired_differences(a: Mapping[str, Mapping[str, float]], b: Mapping[str, Mapping[str, float]]
                       ) -> tuple[np.ndarray, list[str]]:
    """D[seed, problem] = a - b over the seeds both have (sorted) and their problems (sorted ids)."""
    seeds = sorted(set(a) & set(b), key=lambda s: (len(str(s)), str(s)))
    if not seeds:
        raise ValueError(f"no seed in common: {sorted(a)} vs {sorted(b)}")
    ids = sorted(a[seeds[0]])
    for s in seeds:
        if set(a[s]) != set(ids) or set(b[s]) != set(ids):
            raise ValueError(f"seed {s}: the two sides were evaluated on different problems")
    if not ids:
        raise ValueError("no problem in common")
    D = np.array([[a[s][i] - b[s][i] for i in ids] for s in seeds], dtype=np.float64)
    return D, ids


def _problem_weights(clusters: Sequence[str], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[B, P] counts: templates drawn with replacement, then each drawn template's problems with replacement."""
    names, index = np.unique(np.asarray(clusters), return_inverse=True)
    members = [np.flatnonzero(index == c) for c in range(len(names))]
    cluster_counts = rng.multinomial(len(names), np.full(len(names), 1 / len(names)), size=n_resamples)  # [B, C]
    weights = np.zeros((n_resamples, len(clusters)))
    for c, rows in enumerate(members):
        # each draw of template c resamples its problems: draws * size problems over its members, per resample
        weights[:, rows] = rng.multinomial(cluster_counts[:, c] * len(rows), np.full(len(rows), 1 / len(rows)))
    return weights


def hierarchical_bootstrap(D: np.ndarray, clusters: Sequence[str], n_resamples: int = 10_000, seed: int = 0,
                           confidence: float = 0.95) -> BootstrapResult:
    """Percentile CI and one-sided p of mean(D), resampling seeds, then templates, then problems."""
    D = np.atleast_2d(np.asarray(D, dtype=np.float64))
    if not np.isfinite(D).all():
        raise ValueError("the paired differences hold NaN or infinite values")
    n_seeds, n_problems = D.shape
    if len(clusters) != n_problems:
        raise ValueError(f"{len(clusters)} cluster labels for {n_problems} problems")
    rng = np.random.default_rng(seed)
    seed_w = (rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_resamples) if n_seeds > 1
              else np.ones((n_resamples, 1)))
    prob_w = _problem_weights(clusters, n_resamples, rng)
    # stat_b = w_s D w_p / (|w_s| |w_p|): the mean over the drawn seeds x drawn problems
    stats = np.einsum("bs,sp,bp->b", seed_w, D, prob_w) / (seed_w.sum(1) * prob_w.sum(1))
    alpha = 1 - confidence
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return BootstrapResult(
        estimate=float(D.mean()), ci_low=float(low), ci_high=float(high),
        p_one_sided=float((1 + np.sum(stats <= 0)) / (1 + n_resamples)), se=float(stats.std(ddof=1)),
        n_resamples=n_resamples, n_seeds=n_seeds, n_problems=n_problems, n_clusters=len(set(clusters)),
        confidence=confidence, per_seed=[float(x) for x in D.mean(axis=1)])


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values in the input order (step-down, monotone, capped at 1); scipy has BH only."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return [float(x) for x in adjusted]


def verdict_sentence(name: str, baseline: str, result, alpha: float = 0.05, adjusted_p: float | None = None) -> str:
    """The CI's verdict in words; a point estimate alone never decides it."""
    level = f"{round(100 * result.confidence)}% CI {100 * result.ci_low:.1f} to {100 * result.ci_high:.1f}"
    if result.ci_low > 0:
        text = f"{name} beats {baseline} by {100 * result.estimate:.1f} points ({level})"
    elif result.ci_high < 0:
        text = f"{name} is worse than {baseline} by {-100 * result.estimate:.1f} points ({level})"
    else:
        text = f"no evidence of a difference between {name} and {baseline} ({level})"
    if adjusted_p is not None:
        text += f"; Holm-adjusted one-sided p = {adjusted_p:.4f}"
        if result.ci_low > 0 and adjusted_p >= alpha:  # the one-sided p speaks for a gain only
            text += ", which does not survive the correction"
    return text
