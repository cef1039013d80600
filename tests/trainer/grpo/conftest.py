"""Helpers for the RA-RFT trainer tests: a two-version registry from tiny_data's bank and a trainer factory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.service import build_small_version

# Small enough for a few-second step on 2 CPU cores: 2 problems x 2 completions per step, short completions.
FAST = dict(per_device_train_batch_size=4, num_generations=2, max_completion_length=24, learning_rate=1e-4,
            demo_budget_tokens=400, retrieval_k=2, report_to="none", logging_steps=1, save_steps=2,
            retrieval_timeout_s=2.0, retrieval_retries=1, retrieval_backoff_s=0.05, retrieval_wait_ready_s=10.0,
            disable_tqdm=True, seed=7)


@pytest.fixture(scope="session")
def _trainer_versions(tiny_data: Path, minilm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shared.rows import read_rows

    bank = read_rows(Path(tiny_data) / "bank.jsonl")
    registry = tmp_path_factory.mktemp("trainer-versions")
    build_small_version(registry, "v0", rows=bank[:40], encoder=minilm)
    build_small_version(registry, "v1", rows=bank[40:80], encoder=minilm)
    return registry


@pytest.fixture
def trainer_registry(_trainer_versions: Path, tmp_path: Path) -> Path:
    """Registry with v0 and v1: two disjoint slices of the tiny bank, so a prompt shows which version served it.
    A copy per test: the service records admin changes (deployment.json) and feedback in its registry."""
    registry = tmp_path / "trainer-registry"
    shutil.copytree(_trainer_versions, registry)
    return registry


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
