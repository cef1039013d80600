"""Loading shared by label / distill / eval-retriever: problem splits, the policy, label-friendly checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.contract import Demonstration
from shared.errors import UserError
from shared.models import offline_if_local, resolve_model_path


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


def load_policy(path: str, device: str = "cpu", dtype: str = "float32") -> tuple[Any, Any]:
    """The policy (any AutoModelForCausalLM folder or hub id) and its tokenizer, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model_path(path)
    offline_if_local(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the policy from {path}: {exc}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise UserError(f"the policy tokenizer at {path} has no chat template; trainer.prompting needs one")
    model.to(device).eval()
    return model, tokenizer
