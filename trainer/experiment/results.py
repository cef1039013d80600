"""results.json: everything the report shows, assembled from the stages' outputs (nothing typed in by hand)."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from trainer.evaluation.metrics import mean_and_spread
from trainer.experiment.presets import Preset

PRIMARY_CONDITION = {"grpo": "none", "semantic": "v0", "ra-rft": "v1"}  # each arm as it was trained


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


def compare(table: list[dict[str, Any]], metric: str, arm: str, arm_cond: str, base: str = "grpo",
            base_cond: str = "none") -> dict[str, Any] | None:
    """RA-RFT vs GRPO: difference of the means, and whether it exceeds the seed spread."""
    def find(a: str, c: str):
        return next((r for r in table if r["arm"] == a and r["retrieval"] == c), None)

    x, y = find(arm, arm_cond), find(base, base_cond)
    if x is None or y is None or metric not in x["metrics"]:
        return None
    mx, my = x["metrics"][metric], y["metrics"][metric]
    delta = mx["mean"] - my["mean"]
    n = min(mx["n"], my["n"])
    spread = max(mx["std"], my["std"])
    if delta > 0:
        outcome = "beat"
    elif delta < 0:
        outcome = "lost to"
    else:
        outcome = "tied"
    # The gap is only called clear when there are >= 2 seeds and it exceeds both the per-arm std and the seed ranges' overlap.
    clear = n >= 2 and abs(delta) > 2 * spread and (mx["min"] > my["max"] or mx["max"] < my["min"])
    return {"metric": metric, "arm": arm, "arm_retrieval": arm_cond, "baseline": base, "baseline_retrieval": base_cond,
            "arm_mean": mx["mean"], "baseline_mean": my["mean"], "delta": delta, "delta_points": 100 * delta,
            "num_seeds": n, "max_std": spread, "outcome": outcome, "clear": clear}


def retriever_table(analysis: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per version (v0 first), the numeric metrics of `rarft eval-retriever`'s results.json."""
    versions = analysis.get("versions", {})
    return {v: flatten(versions[v]) for v in sorted(versions)}


def build_results(*, preset: Preset, out: Path, data_dir: Path, policy_dir: Path, registry: Path, deployed: dict[str, Any],
                  train: dict[int, dict[str, Any]], evals: dict[str, Any], analysis: dict[str, Any],
                  timings: dict[str, Any], started_at: float) -> dict[str, Any]:
    table = build_table(evals)
    keys = accuracy_keys(evals)
    avg_key = next((k for k in keys if k.startswith("avg@")), keys[0] if keys else None)
    comparisons = []
    if avg_key:
        for arm_cond in ("v1", "none"):
            c = compare(table, avg_key, "ra-rft", arm_cond)
            if c:
                comparisons.append(c)
        c = compare(table, avg_key, "ra-rft", "v1", base="semantic", base_cond="v0")
        if c:
            comparisons.append(c)
    versions = {}
    for v in ("v0", "v1"):
        m = _read(registry / v / "manifest.json")
        if m:
            versions[v] = {k: m.get(k) for k in ("name", "encoder_path", "index_type", "dim", "num_demonstrations",
                                                  "bank_checksum", "created_at", "parent_version", "labels_checksum",
                                                  "training_metrics")}
    import torch

    return {
        "preset": preset.name,
        "config": preset.model_dump(),
        "run_dir": str(out),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_time_s": round(time.time() - started_at, 1),
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
                        "num_threads": torch.get_num_threads()},
        "data": _read(data_dir / "manifest.json"),
        "policy": _read(policy_dir / "rarft_policy.json"),
        "retriever_versions": versions,
        "deploy": deployed,
        "train": {arm: {str(seed): {k: v for k, v in train[seed][arm].items() if k != "log_history"} for seed in train}
                  for arm in next(iter(train.values()), {})},
        "evals": evals,
        "table": table,
        "primary_metric": avg_key,
        "comparisons": comparisons,
        "retrievers": retriever_table(analysis),
        "retriever_analysis": {k: v for k, v in analysis.items() if k != "versions"},
        "stages": timings,
    }
