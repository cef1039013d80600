"""`rarft eval`'s work in resumable generation batches, shared among processes under `accelerate launch`.

The plan is fixed before any sampling and does not depend on the process count: the problems' prompts are sorted
by token length (longest first, as `trainer.generation` batches them) and cut into batches of
`prompts_per_batch` prompts; batch b is sampled from `torch.manual_seed(batch_seed(seed, b))`. So a problem's k
samples depend on the seed, the problem set and the batch size, never on which process drew them or whether the
run was interrupted: one process, N processes and a resumed run give the same records.

While it runs, `OUT/.parts/` holds `run.json` (the settings' fingerprint), `plan.json` (each problem's
demonstrations, retrieved once by the main process) and one `batch-NNNNN.jsonl` of records per finished batch,
each written atomically by the process that drew it (batch b by process b % N). A rerun with the same settings
skips the finished batches; other settings discard the parts. The main process merges the batches after the last
one is written, in problem order, and removes `.parts/`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shared.artifacts import atomic_write_text
from shared.contract import Demonstration
from shared.errors import UserError

PARTS = ".parts"
RUN_FILE = "run.json"
PLAN_FILE = "plan.json"
SEED_STRIDE = 1_000_003  # batch b of seed s samples from s + b * SEED_STRIDE: batch 0 keeps the run's own seed


def parts_dir(out: Path) -> Path:
    return Path(out) / PARTS


def batch_seed(seed: int, index: int) -> int:
    return seed + index * SEED_STRIDE


def plan_batches(lengths: Sequence[int], per_batch: int) -> list[list[int]]:
    """Problem indices per batch: longest prompt first (stable), `per_batch` prompts each."""
    if per_batch < 1:
        raise ValueError("per_batch must be >= 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[s:s + per_batch] for s in range(0, len(order), per_batch)]


def batch_file(parts: Path, index: int) -> Path:
    return parts / f"batch-{index:05d}.jsonl"


def open_parts(parts: Path, fingerprint: dict[str, Any]) -> bool:
    """Keep the parts of an interrupted run with the same fingerprint (True) or start them afresh (False).
    Main process only."""
    run = parts / RUN_FILE
    if run.is_file():
        if json.loads(run.read_text()) == fingerprint:
            return True
        print(f"discarding the interrupted evaluation in {parts}: it had other settings")
    if parts.exists():
        shutil.rmtree(parts)
    atomic_write_text(run, json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")
    return False


def write_plan(parts: Path, demos: Sequence[Sequence[Demonstration]], retrieval: dict[str, Any] | None) -> None:
    atomic_write_text(parts / PLAN_FILE, json.dumps({
        "retrieval": retrieval, "demos": [[d.model_dump(mode="json") for d in ds] for ds in demos]}) + "\n")


def read_plan(parts: Path, num_problems: int) -> tuple[list[list[Demonstration]], dict[str, Any] | None]:
    plan = json.loads((parts / PLAN_FILE).read_text())
    demos = [[Demonstration.model_validate(d) for d in ds] for ds in plan["demos"]]
    if len(demos) != num_problems:
        raise UserError(f"{parts / PLAN_FILE} plans {len(demos)} problems, the problem file has {num_problems}; "
                        f"delete {parts} to start the evaluation afresh")
    return demos, plan["retrieval"]


def todo_batches(parts: Path, num_batches: int) -> list[int]:
    return [b for b in range(num_batches) if not batch_file(parts, b).is_file()]


def run_batches(parts: Path, batches: Sequence[Sequence[int]], mine: Sequence[int],
                draw: Callable[[list[int], int], list[dict[str, Any]]], progress: Callable[[int], None] | None = None) -> None:
    """Draw this process's batches (`draw(problem indices, batch index)` -> their records), one file each."""
    for b in mine:
        records = draw(list(batches[b]), b)
        text = "".join(json.dumps({"index": i, **r}) + "\n" for i, r in zip(batches[b], records, strict=True))
        atomic_write_text(batch_file(parts, b), text)
        if progress is not None:
            progress(len(batches[b]))


def merge_batches(parts: Path, num_batches: int, num_problems: int) -> list[dict[str, Any]]:
    """Every problem's record, in problem order, from the batch files of all processes."""
    missing = todo_batches(parts, num_batches)
    if missing:
        raise UserError(f"evaluation batches {missing[:5]} are missing from {parts}; rerun the same command to finish them")
    by_index: dict[int, dict[str, Any]] = {}
    for b in range(num_batches):
        for line in batch_file(parts, b).read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                by_index[record.pop("index")] = record
    if sorted(by_index) != list(range(num_problems)):
        raise UserError(f"the batches in {parts} cover {len(by_index)} of {num_problems} problems; "
                        f"delete {parts} to start the evaluation afresh")
    return [by_index[i] for i in range(num_problems)]
