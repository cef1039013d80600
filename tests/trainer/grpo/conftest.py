"""Helpers for the RA-RFT trainer tests: fast GRPO settings, a version's bank ids and a trainer factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Small enough for a few-second step on 2 CPU cores: 2 problems x 2 completions per step, short completions.
FAST = dict(per_device_train_batch_size=4, num_generations=2, max_completion_length=24, learning_rate=1e-4,
            demo_budget_tokens=400, retrieval_k=2, report_to="none", logging_steps=1, save_steps=2,
            retrieval_timeout_s=2.0, retrieval_retries=1, retrieval_backoff_s=0.05, retrieval_wait_ready_s=10.0,
            disable_tqdm=True, seed=7)


def bank_ids(registry: Path, version: str) -> set[str]:
    from shared.rows import read_rows

    return {r.id for r in read_rows(registry / version / "bank.jsonl")}


def make_trainer(policy: Path, train_file: Path, output_dir: Path, callbacks: list | None = None,
                 **overrides: Any):
    from transformers import AutoTokenizer

    from trainer.grpo.config import RARFTConfig
    from trainer.grpo.dataset import train_dataset
    from trainer.grpo.trainer import RARFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(policy)
    config = RARFTConfig(output_dir=str(output_dir), model=str(policy), train_file=str(train_file),
                         **{**FAST, **overrides})
    return RARFTTrainer(model=str(policy), args=config, train_dataset=train_dataset(train_file, tokenizer),
                        processing_class=tokenizer, callbacks=callbacks)
