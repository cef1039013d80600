"""results.json as typed models: the pipeline builds a `Results`, the report and the figures read its attributes.

The JSON on disk is `Results.model_dump(mode="json")`; `Results.model_validate_json` reads it back, so a field the
report needs cannot be silently missing or misspelt. Stage outputs that the report only shows or passes through
(eval results per arm, train runs, manifests) keep their own shape in loosely typed fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trainer.experiment.stats import BootstrapResult


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Spread(_Model):
    """One metric over seeds (trainer.evaluation.metrics.mean_and_spread) with the per-seed values."""

    values: list[float]
    mean: float
    std: float
    min: float
    max: float
    n: int


class TableRow(_Model):
    """One (arm, retrieval condition at test) row of the accuracy table."""

    arm: str
    retrieval: str
    seeds: list[str]
    metrics: dict[str, Spread]
    demo_strategy_match: list[float | None] = Field(default_factory=list)
    by_wording: dict[str, Spread] = Field(default_factory=dict)


class DesignEntry(_Model):
    name: str
    kind: Literal["primary", "secondary", "descriptive"]
    question: str
    arm: list[str]  # (arm, retrieval condition at test)
    baseline: list[str]


class Statistic(_Model):
    kind: str = "paired bootstrap"
    seeds: str = Field(default="", description="what one resampled seed varies (the warm start or only RL and evaluation)")
    n_resamples: int
    confidence: float = 0.95
    p_value: str = ""
    correction: str = ""


class ComparisonResult(BootstrapResult):
    """A planned comparison: its paired bootstrap (the inherited fields), what it compares, and its verdict."""

    model_config = ConfigDict(extra="forbid", frozen=False, protected_namespaces=())

    name: str
    kind: Literal["primary", "secondary", "descriptive"]
    question: str
    arm: str
    arm_retrieval: str
    baseline: str
    baseline_retrieval: str
    arm_title: str
    baseline_title: str
    seeds: list[int]
    p_holm: float | None = None  # secondary comparisons only
    verdict: str


class RetrieverRow(_Model):
    """One metric of the retriever table: its label, the eval-retriever key it came from, the value per version."""

    label: str
    key: str
    values: dict[str, float]


class StageTime(_Model):
    elapsed_s: float
    skipped: bool = False


class Results(_Model):
    preset: str
    config: dict[str, Any] = Field(description="the preset, as the flags given to each command")
    run_dir: str
    started_at: str
    finished_at: str
    wall_time_s: float
    environment: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] | None = None  # DATA/manifest.json
    policies: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="warm start folder (policy, or policy-s<seed> per seed) -> its rarft_policy.json")
    retriever_versions: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="registry name (v0, v1, or v1-s<seed> per seed) -> its manifest's summary")
    deployments: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="v1's registry name -> how its deploy stage reached the running service and "
        "the versions served after it")
    train: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict, description="arm -> seed -> run summary")
    evals: dict[str, dict[str, dict[str, dict[str, Any]]]] = Field(
        default_factory=dict, description="arm -> seed -> retrieval condition -> `rarft eval` results")
    table: list[TableRow] = Field(default_factory=list)
    primary_metric: str | None = None
    eval_split: Literal["dev", "test"] = "test"
    design: list[DesignEntry] = Field(default_factory=list)
    statistic: Statistic | None = None
    comparisons: list[ComparisonResult] = Field(default_factory=list)
    retrievers: dict[str, dict[str, float]] = Field(default_factory=dict, description="version -> eval-retriever metrics")
    retriever_rows: list[RetrieverRow] = Field(default_factory=list)
    retriever_analysis: dict[str, Any] = Field(default_factory=dict)
    stages: dict[str, StageTime] = Field(default_factory=dict)
    figures: list[str] = Field(default_factory=list)

    def comparison(self, name: str) -> ComparisonResult | None:
        return next((c for c in self.comparisons if c.name == name), None)
