"""The comparisons a run answers, fixed by the preset before any number exists, and their paired statistics.

Primary: RA-RFT (v1 at test) minus GRPO (no retrieval), avg@k on test. Secondary, Holm-corrected together:
RA-RFT (v1) minus GRPO with v1 at test only (does RL with retrieval add anything beyond retrieval at inference?),
and RA-RFT (v1) minus semantic RAG-RFT (v0), or minus RA-RFT with v0 at test when the preset trains no semantic
arm (does reasoning-aware retrieval matter?). Descriptive, outside the correction: each arm's policy against the
warm start, which shows whether RL moved it at all. Every difference is per problem and paired, resampled over
seeds, then templates, then problems (trainer.experiment.stats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from trainer.experiment.stats import hierarchical_bootstrap, holm, paired_differences, verdict_sentence

ARM_TITLES = {"base": "warm start", "grpo": "GRPO", "semantic": "semantic RAG-RFT", "ra-rft": "RA-RFT"}
RETRIEVAL_TITLES = {"none": "no retrieval", "v0": "semantic v0", "v1": "distilled v1"}


@dataclass(frozen=True)
class Comparison:
    name: str
    kind: Literal["primary", "secondary", "descriptive"]
    question: str
    arm: tuple[str, str]  # (arm, retrieval condition at test)
    baseline: tuple[str, str]

    def title(self, side: tuple[str, str]) -> str:
        return f"{ARM_TITLES[side[0]]} ({RETRIEVAL_TITLES[side[1]]})"


def planned_comparisons(arms: Sequence[str]) -> list[Comparison]:
    """The comparisons of a preset with these arms, in report order; a pure function of the design."""
    reasoning_base = ("semantic", "v0") if "semantic" in arms else ("ra-rft", "v0")
    out = [
        Comparison("primary", "primary", "Does RA-RFT beat GRPO?", ("ra-rft", "v1"), ("grpo", "none")),
        Comparison("rl_stage", "secondary", "Does RL with retrieval add anything beyond retrieval at inference?",
                   ("ra-rft", "v1"), ("grpo", "v1")),
        Comparison("reasoning_aware", "secondary", "Does reasoning-aware retrieval matter?", ("ra-rft", "v1"),
                   reasoning_base),
    ]
    out += [Comparison(f"rl_moved_{arm}", "descriptive", f"Did RL move the {ARM_TITLES[arm]} policy?",
                       (arm, cond), ("base", cond))
            for arm, cond in (("grpo", "none"), ("ra-rft", "v1")) if arm in arms]
    return out


def _per_seed(evals: Mapping[str, Any], arm: str, cond: str, seeds: Sequence[str]) -> dict[str, dict[str, float]]:
    """seed -> {problem id: avg@k}; the warm start, evaluated once, stands beside every seed of the other side."""
    by_seed = evals.get(arm, {})
    if arm == "base":
        only = next(iter(by_seed.values()), {}).get(cond)
        return {s: only["per_problem"] for s in seeds} if only else {}
    return {s: by_seed[s][cond]["per_problem"] for s in seeds if cond in by_seed.get(s, {})}


def run_comparisons(evals: Mapping[str, Any], arms: Sequence[str], clusters: Mapping[str, str],
                    n_resamples: int = 10_000, seed: int = 0) -> list[dict[str, Any]]:
    """Every planned comparison that both sides were evaluated for: estimate, CI, p, per-seed differences, verdict."""
    results: list[dict[str, Any]] = []
    boot = []
    for c in planned_comparisons(arms):
        seeds = sorted(evals.get(c.arm[0], {}), key=int)
        a, b = _per_seed(evals, *c.arm, seeds), _per_seed(evals, *c.baseline, seeds)
        if not a or not b:
            continue
        D, ids = paired_differences(a, b)
        res = hierarchical_bootstrap(D, [clusters.get(i, i) for i in ids], n_resamples=n_resamples, seed=seed)
        boot.append(res)
        results.append({"name": c.name, "kind": c.kind, "question": c.question,
                        "arm": c.arm[0], "arm_retrieval": c.arm[1], "baseline": c.baseline[0],
                        "baseline_retrieval": c.baseline[1], "arm_title": c.title(c.arm),
                        "baseline_title": c.title(c.baseline), "seeds": [int(s) for s in seeds if s in a],
                        **res.model_dump()})
    secondary = [r for r in results if r["kind"] == "secondary"]
    for r, p in zip(secondary, holm([r["p_one_sided"] for r in secondary])):
        r["p_holm"] = p
    for r, res in zip(results, boot):
        r["verdict"] = verdict_sentence(r["arm_title"], r["baseline_title"], res, adjusted_p=r.get("p_holm"))
    return results

