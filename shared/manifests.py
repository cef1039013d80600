"""Manifests of on-disk artifacts: what produced them, with checksums, so reruns can reuse them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.documents import DOCUMENT_TEXT_HELP, DocumentText


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())  # every field declared: nothing read back by getattr


class RetrieverManifest(_Manifest):
    """`REGISTRY/NAME/manifest.json`: one retriever version (encoder/, index.faiss, bank.jsonl)."""

    name: str
    encoder_path: str = Field(description="encoder folder inside the version dir ('encoder'); a path outside it is refused")
    index_type: Literal["flat", "hnsw", "ivf", "ivfpq"] = "flat"
    index_params: dict[str, int] = Field(default_factory=dict, description="the IndexSpec parameters of index_type")
    document_text: DocumentText = Field(default="problem", description=DOCUMENT_TEXT_HELP)
    dim: int
    num_demonstrations: int
    bank_checksum: str
    created_at: str = Field(default_factory=utc_now)
    parent_version: str | None = None
    labels_checksum: str | None = None
    training_metrics: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict, description="sha256 of every file, by relative path")


class DeploymentManifest(_Manifest):
    """`REGISTRY/deployment.json`: the deployment every replica converges on, written only by the admin routes
    and `rarft deploy` (atomically, under a lock). `generation` grows by one per change, so a replica knows
    whether it serves the latest state."""

    generation: int = Field(ge=0)
    versions: list[str] = Field(description="versions to load, in the order they were deployed")
    split: dict[str, float] | None = Field(default=None, description="traffic weights (normalised); None = newest takes all")
    previous_split: dict[str, float] | None = Field(default=None, description="the split `rollback` restores")
    updated_at: str = Field(default_factory=utc_now)
    updated_by: str = Field(default="", description="the change and where it came from, e.g. 'split on host:pid'")


class DataManifest(_Manifest):
    """`DATA/manifest.json`: the benchmark or a loaded problem set, split leakage-safely."""

    generator: str
    seed: int
    sizes: dict[str, int]
    files: dict[str, str]
    strategies: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)
    created_at: str = Field(default_factory=utc_now)


class ConvertedModelManifest(_Manifest):
    """`$RARFT_CACHE/models/NAME/rarft_model.json`: an embedded model converted from its wheel's GGUF."""

    name: str
    source: str = Field(description="the GGUF file it was converted from")
    source_sha256: str
    transformers_version: str
    files: dict[str, str] = Field(description="sha256 of every file of the converted folder, by relative path")
    stats: dict[str, list[int]] = Field(default_factory=dict, description="[size, mtime_ns] of every file and of the "
                                        "source ('<source>'): unchanged stats skip re-hashing ~600 MB per resolution")
    created_at: str = Field(default_factory=utc_now)


class PolicyManifest(_Manifest):
    """`POLICY/rarft_policy.json`: how the warm-started policy was built and how well it does."""

    base: str
    data_checksum: str | None = None
    num_parameters: int
    accuracy: dict[str, float] = Field(default_factory=dict, description="greedy dev accuracy: none / random / same_strategy, and per wording (e.g. none/unseen) where rows carry one")
    eval_size: int | None = Field(default=None, description="dev problems the accuracy was measured on")
    config: dict[str, Any] = Field(default_factory=dict)
    training_metrics: dict[str, float] = Field(default_factory=dict, description="SFT loss, steps, examples, runtime")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per phase: build, sft, eval")
    lora: dict[str, Any] | None = Field(default=None, description="the LoRA adapter the warm start trained and merged "
                                        "into the saved weights (rank, alpha, targets); None: full fine-tuning")
    created_at: str = Field(default_factory=utc_now)
