"""Loading shared by label / distill / eval-retriever: problem splits and label-friendly checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.contract import Demonstration
from shared.errors import UserError


def read_split(data_dir: Path, split: str) -> list[Demonstration]:
    """Rows of DATA/<split>.jsonl (the `rarft data` layout)."""
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.is_file():
        raise UserError(f"{path} not found: --data must be a directory written by `rarft data` (bank/train/rl/dev/test.jsonl)")
    try:
        from trainer.data.io import read_rows
    except ImportError:  # the data package is optional for this reader; the format is one Demonstration per line
        read_rows = None
    if read_rows is not None:
        rows = list(read_rows(path))
    else:
        rows = []
        with open(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(Demonstration.model_validate(json.loads(line)))
                except (json.JSONDecodeError, ValidationError) as exc:
                    raise UserError(f"{path}:{lineno}: not a valid demonstration row: {exc}") from None
    if not rows:
        raise UserError(f"{path} holds no rows")
    return rows


def by_id(rows: list[Demonstration], what: str) -> dict[str, Demonstration]:
    out: dict[str, Demonstration] = {}
    for row in rows:
        if row.id in out:
            raise UserError(f"duplicate id {row.id!r} in the {what}")
        out[row.id] = row
    return out
