"""Training problems -> the dataset GRPOTrainer samples from.

Rows keep `id` (excluded from its own retrieval), `problem` (the query), `answer` (the reward's gold) and
`strategy`/`theme` (for analysis), plus `prompt`: the problem rendered without demonstrations. RARFTTrainer
re-renders `prompt` with retrieved demonstrations at rollout time; plain GRPO uses it as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.contract import Demonstration
from shared.rows import read_required_rows
from trainer.prompting import render_prompt

COLUMNS = ("id", "problem", "answer", "strategy", "theme")


def problems_dataset(rows: list[Demonstration], tokenizer: Any, template_kwargs: dict[str, Any] | None = None) -> Any:
    from datasets import Dataset

    records: dict[str, list[Any]] = {c: [] for c in (*COLUMNS, "prompt")}
    for r in rows:
        for c in COLUMNS:
            records[c].append(getattr(r, c) or ("" if c in ("strategy", "theme") else getattr(r, c)))
        records["prompt"].append(render_prompt(tokenizer, r.problem, template_kwargs=template_kwargs))
    return Dataset.from_dict(records)


def train_dataset(path: str | Path, tokenizer: Any, template_kwargs: dict[str, Any] | None = None) -> Any:
    """The RL rows as TRL's prompt dataset: each prompt pre-rendered by the policy's chat template (with
    `--chat_template_kwargs`), and re-rendered with demonstrations at rollout time (trainer.grpo.retrieval)."""
    rows = read_required_rows(path, "training file", "give --train DATA/rl.jsonl from `rarft data`")
    return problems_dataset(rows, tokenizer, template_kwargs)
