"""Where the training loops of init-policy and distill report their losses: transformers' `report_to`, with the
TensorBoard event files kept beside the artifact they describe (OUT/logs/), as `rarft train` keeps them in its
output dir.

transformers 5 dropped `TrainingArguments.logging_dir`; its TensorBoard callback writes under the trainer's
`output_dir/runs/`. Both commands train in a temp dir (nothing half-written is left on failure), so the events are
copied next to the artifact once it is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from shared.artifacts import LOGS_DIR

REPORT_TO_HELP = ("loggers of the training loss (transformers' report_to): tensorboard (event files in OUT/logs/), "
                  "wandb, mlflow, ... or none")


def report_to_arg(loggers: list[str]) -> str | list[str]:
    """TrainingArguments' value: 'none' alone (or no logger) turns reporting off."""
    names = [n for n in loggers if n]
    return "none" if not names or names == ["none"] else names


def keep_tensorboard_logs(work_dir: Path, dest: Path) -> None:
    """Copy the TensorBoard event folders a trainer wrote under `work_dir/runs/` into `dest` (none written: a no-op,
    e.g. with report_to none or TENSORBOARD_LOGGING_DIR set elsewhere)."""
    runs = Path(work_dir) / "runs"
    if runs.is_dir() and any(runs.iterdir()):
        shutil.copytree(runs, dest, dirs_exist_ok=True)
