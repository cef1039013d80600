"""results.json: everything the report shows, assembled from the stages' outputs (nothing typed in by hand) into a
typed `Results` (trainer.experiment.schema)."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from trainer.evaluation.metrics import mean_and_spread
from trainer.experiment.presets import Preset
from trainer.experiment.schema import Results, RetrieverRow

SEED_UNITS = {  # what one resampled seed is, so the report says which variation its CIs cover
    False: "RL training and evaluation seeds; every seed shares one warm start and one v1, so the CI does not cover them",
    True: "a warm start (init-policy --seed), its labels and v1, RL training and evaluation, all seeded by the seed",
}
N_RESAMPLES = 10_000  # bootstrap resamples per comparison (the study design asks for at least 10,000)


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def flatten(obj: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of nested dicts as 'a/b/c' keys (retriever-analysis files vary in nesting)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}/{k}" if prefix else str(k)))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[prefix] = float(obj)
    return out


def accuracy_keys(evals: dict[str, Any]) -> list[str]:
    for seeds in evals.values():
        for conds in seeds.values():
            for res in conds.values():
                return [k for k in res["metrics"] if "@" in k]
    return []


def build_table(evals: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (arm, retrieval condition): each accuracy metric's per-seed values and mean/spread."""
    rows = []
    for arm, seeds in evals.items():
        conds = sorted({c for per_seed in seeds.values() for c in per_seed}, key=["none", "v0", "v1"].index)
        for cond in conds:
            per_seed = {s: seeds[s][cond]["metrics"] for s in seeds if cond in seeds[s]}
            row: dict[str, Any] = {"arm": arm, "retrieval": cond, "seeds": sorted(per_seed, key=int), "metrics": {}}
            for key in accuracy_keys(evals):
                values = [per_seed[s][key] for s in row["seeds"]]
                row["metrics"][key] = {"values": values, **mean_and_spread(values)}
            row["demo_strategy_match"] = [per_seed[s].get("demo_strategy_match") for s in row["seeds"]]
            by_wording: dict[str, list[float]] = {}  # the primary metric per question wording, one value per seed
            for s in row["seeds"]:
                for wording, m in (seeds[s][cond].get("per_wording") or {}).items():
                    key = next((k for k in m if k.startswith("avg@")), None)
                    if key:
                        by_wording.setdefault(wording, []).append(m[key])
            row["by_wording"] = {w: {"values": v, **mean_and_spread(v)} for w, v in sorted(by_wording.items())}
            rows.append(row)
    return rows


def template_clusters(test_file: Path) -> dict[str, str]:
    """problem id -> 'strategy/template': problems written from one template share a cluster in the bootstrap."""
    from shared.rows import read_rows

    return {r.id: f"{r.strategy}/{r.metadata.get('template', r.id)}" for r in read_rows(test_file)}


def retriever_metrics(analysis: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per version (v0 first), the numeric metrics of `rarft eval-retriever`'s results.json."""
    versions = analysis.get("versions", {})
    return {v: flatten(versions[v]) for v in sorted(versions)}


# Retriever-analysis metrics shown in the report, in this order: (eval-retriever key with the analysis k, label).
RETRIEVER_METRICS = [("strategy_match@{k}", "strategy-match@{k}"),
                     ("strategy_match@{k}/unseen", "strategy-match@{k} on unseen wordings (no bank row phrased alike)"),
                     ("ndcg@{k}", "nDCG@{k}"),
                     ("benefit@{k}", "benefit of the top-{k} (policy, vs no demo)"),
                     ("distinct_strategies@{k}", "distinct strategies in the top-{k}"),
                     ("pairwise_distance@{k}", "mean pairwise distance of the top-{k}, all embedded by one reference encoder")]


def retriever_rows(retrievers: dict[str, dict[str, float]], k: int) -> list[RetrieverRow]:
    """Rows of the retriever table: each standard metric `rarft eval-retriever` measured at k, for each version."""
    rows = []
    for key, label in RETRIEVER_METRICS:
        key = key.format(k=k)
        values = {version: metrics[key] for version, metrics in retrievers.items() if key in metrics}
        if values:
            rows.append(RetrieverRow(label=label.format(k=k), key=key, values=values))
    return rows


def build_results(*, preset: Preset, out: Path, data_dir: Path, policy_dirs: list[Path], registry: Path,
                  deployments: dict[str, dict[str, Any]],
                  train: dict[int, dict[str, Any]], evals: dict[str, Any], analysis: dict[str, Any],
                  timings: dict[str, Any], started_at: float) -> Results:
    from trainer.experiment.comparisons import planned_comparisons, run_comparisons

    table = build_table(evals)
    keys = accuracy_keys(evals)
    avg_key = next((k for k in keys if k.startswith("avg@")), keys[0] if keys else None)
    comparisons = run_comparisons(evals, preset.arms, template_clusters(data_dir / f"{preset.eval_split}.jsonl"), N_RESAMPLES)
    versions = {}
    for name in ("v0", *deployments):  # with a warm start per seed, every seed's v1: each seed's arms retrieved from it
        m = _read(registry / name / "manifest.json")
        if m:
            versions[name] = {k: m.get(k) for k in ("name", "encoder_path", "index_type", "dim", "num_demonstrations",
                                                     "document_text", "bank_checksum", "created_at", "parent_version",
                                                     "labels_checksum", "training_metrics")}
    policies = {d.name: m for d in policy_dirs if (m := _read(d / "rarft_policy.json"))}
    import torch

    retrievers = retriever_metrics(analysis)
    return Results.model_validate({
        "preset": preset.name,
        "config": preset.model_dump(),
        "run_dir": str(out),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_time_s": round(time.time() - started_at, 1),
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
                        "num_threads": torch.get_num_threads()},
        "data": _read(data_dir / "manifest.json"),
        "policies": policies,
        "retriever_versions": versions,
        "deployments": deployments,
        "train": {arm: {str(seed): {k: v for k, v in train[seed][arm].items() if k != "log_history"} for seed in train}
                  for arm in next(iter(train.values()), {})},
        "evals": evals,
        "table": table,
        "primary_metric": avg_key,
        "eval_split": preset.eval_split,
        "design": [{"name": c.name, "kind": c.kind, "question": c.question, "arm": list(c.arm), "baseline": list(c.baseline)}
                   for c in planned_comparisons(preset.arms)],
        "statistic": {"kind": "paired per-problem difference of avg@k, hierarchical bootstrap over seeds, then "
                      "templates, then problems", "seeds": SEED_UNITS[preset.vary_warm_start], "n_resamples": N_RESAMPLES, "confidence": 0.95,
                      "p_value": "one-sided, H1: difference > 0", "correction": "Holm over the secondary comparisons"},
        "comparisons": comparisons,
        "retrievers": retrievers,
        "retriever_rows": retriever_rows(retrievers, int(analysis.get("k", 4))),
        "retriever_analysis": {k: v for k, v in analysis.items() if k != "versions"},
        "stages": timings,
    })
