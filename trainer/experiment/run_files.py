"""What a finished stage left in the run dir, read back: trained models, TRL's reward log, per-problem scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.errors import UserError


def find_model_dir(run_dir: Path) -> Path:
    """The trained model: the output dir when the final model was saved there, else the newest checkpoint."""
    if (run_dir / "config.json").is_file():
        return run_dir
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    if checkpoints and (checkpoints[-1] / "config.json").is_file():
        return checkpoints[-1]
    raise UserError(f"no trained model found in {run_dir} (no config.json and no checkpoint-*/)")


def read_train_log(run_dir: Path) -> dict[str, Any]:
    """Reward curve and final numbers from TRL's trainer_state.json (the output dir's, else the newest checkpoint's)."""
    candidates = [run_dir / "trainer_state.json"] + sorted(
        run_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[-1]), reverse=True)
    state_path = next((p for p in candidates if p.is_file()), None)
    if state_path is None:
        return {"log_history": [], "state_file": None}
    state = json.loads(state_path.read_text())
    history = state.get("log_history", [])
    curve = [{"step": h["step"], "reward": h["reward"]} for h in history if "reward" in h and "step" in h]
    keep = ("reward", "reward_std", "loss", "retrieval/latency_ms", "train_runtime")
    runtime = next((h["train_runtime"] for h in reversed(history) if "train_runtime" in h), None)
    steps = state.get("global_step")
    return {
        "state_file": str(state_path),
        "global_step": steps,
        "reward_curve": curve,
        "log_history": [{k: v for k, v in h.items() if k == "step" or k.startswith(("reward", "retrieval/", "loss", "train_"))
                         or k in keep} for h in history],
        "final_reward": curve[-1]["reward"] if curve else None,
        "mean_reward": sum(c["reward"] for c in curve) / len(curve) if curve else None,
        # the training loop's own time per optimizer step (TRL's train_runtime: no process start, no model load)
        "step_seconds": runtime / steps if runtime is not None and steps else None,
        "retrieval": {key: _mean([h[key] for h in history if key in h])
                      for key in ("retrieval/with_demos", "retrieval/latency_ms", "retrieval/degraded")},
    }


def read_per_problem(path: Path) -> dict[str, float]:
    """problem id -> avg@k of one evaluation (its per_problem.csv): what the paired comparisons resample."""
    import csv

    with open(path, newline="") as fh:
        return {row["id"]: float(row["accuracy"]) for row in csv.DictReader(fh)}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
