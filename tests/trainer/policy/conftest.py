"""Small shared pieces for the policy tests: benchmark rows, a trained tokenizer and an untrained tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.contract import Demonstration


@pytest.fixture(scope="session")
def tiny_rows(tiny_data: Path) -> dict[str, list[Demonstration]]:
    from shared.rows import read_rows

    return {name: read_rows(Path(tiny_data) / f"{name}.jsonl") for name in ("bank", "train", "test")}


@pytest.fixture(scope="session")
def trained_tokenizer(tiny_rows):
    from trainer.policy.tokenizer import train_tokenizer

    return train_tokenizer(tiny_rows["bank"] + tiny_rows["train"], vocab_size=512)


@pytest.fixture()
def untrained_model(trained_tokenizer):
    from trainer.policy.model import TinyQwen3Spec, build_model

    spec = TinyQwen3Spec(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         intermediate_size=64, max_position_embeddings=512)
    return build_model(spec, trained_tokenizer, seed=0)
