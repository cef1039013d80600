"""Shared pieces of the relevance tests: a semantic v0 over the tiny bank, label/distill configs at tiny sizes."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_registry(tiny_data: Path, minilm, tmp_path_factory) -> Path:
    """registry/v0-semantic: the embedded MiniLM over tiny_data's bank (do not modify; copy to change)."""
    from shared.versions import build_version

    registry = tmp_path_factory.mktemp("relevance-registry")
    build_version(minilm, Path(tiny_data) / "bank.jsonl", registry / "v0-semantic", show_progress=False)
    return registry


def label_config(policy: Path, data: Path, retriever: Path, out: Path, **overrides):
    from trainer.relevance.labeling import LabelConfig

    values = dict(policy=str(policy), data=data, retriever=retriever, out=out, num_queries=6, num_semantic=2,
                  num_random=4, batch_size=16, chunk_queries=2, progress=False, num_threads=2)
    values.update(overrides)
    return LabelConfig(**values)
