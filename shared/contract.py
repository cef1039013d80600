"""HTTP and data contract: the service validates with these models and the trainer builds them.

One definition for both sides, so client and server cannot drift. Limits come from `shared.limits`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shared.limits import (
    MAX_EXCLUDE_IDS,
    MAX_NAME_CHARS,
    MAX_QUERIES_PER_REQUEST,
    MAX_TEXT_CHARS,
    MAX_TOP_K,
)

# A version name is a single path component: it names a folder in the registry and must not escape it.
VERSION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_VERSION_RE = re.compile(VERSION_NAME_PATTERN)

# What the validators below enforce, stated in the OpenAPI schema too, so a client (or a schema fuzzer) that follows
# the schema is never refused. The validators keep the messages; these only describe.
_VERSION_SCHEMA = {"pattern": r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]*$", "minLength": 1, "maxLength": MAX_NAME_CHARS}
_QUERY_SCHEMA = {"pattern": r"\S", "minLength": 1, "maxLength": MAX_TEXT_CHARS}
VersionName = Annotated[str, Field(json_schema_extra=_VERSION_SCHEMA)]
QueryText = Annotated[str, Field(json_schema_extra=_QUERY_SCHEMA)]


def check_version_name(name: str) -> str:
    if len(name) > MAX_NAME_CHARS or not _VERSION_RE.match(name) or ".." in name:
        raise ValueError(
            f"invalid version name {name!r}: use letters, digits, '.', '_' or '-' (no '/' or '..'), "
            f"at most {MAX_NAME_CHARS} characters"
        )
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Demonstration(BaseModel):
    """A worked example: one row of the bank, and the row format of every problem split."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    problem: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    solution: str = Field(default="", max_length=4 * MAX_TEXT_CHARS, description="worked solution; may be empty for test-only sets")
    answer: str = Field(min_length=1, max_length=256, description="verified final answer")
    strategy: str | None = Field(default=None, description="reasoning strategy family, when known")
    theme: str | None = Field(default=None, description="surface theme, when known")
    source: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("answer")
    @classmethod
    def _answer_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("answer must not be blank")
        return v.strip()


# --------------------------------------------------------------------------------------------- /retrieve


class RetrieveRequest(_Strict):
    """Batched retrieval: one request per rollout batch."""

    queries: list[QueryText] = Field(
        min_length=1, max_length=MAX_QUERIES_PER_REQUEST,
        description=f"problem texts, 1 to {MAX_QUERIES_PER_REQUEST} per request, none blank",
    )
    k: int = Field(default=4, ge=1, le=MAX_TOP_K, description=f"hits per query, 1 to {MAX_TOP_K}")
    exclude_ids: list[Annotated[list[str], Field(json_schema_extra={"maxItems": MAX_EXCLUDE_IDS})]] | None = Field(
        default=None, description="per query (one list per query), bank ids that must not be returned (e.g. the "
        "query's own id)", json_schema_extra={"maxItems": MAX_QUERIES_PER_REQUEST}
    )
    exclude_same_problem: bool = Field(
        default=True, description="leakage guard: drop bank entries whose normalised problem equals the query"
    )
    routing_key: str | None = Field(default=None, max_length=MAX_NAME_CHARS, description="A/B stickiness key")
    version: VersionName | None = Field(default=None, description="pin a retriever version, overriding the split")

    @field_validator("queries")
    @classmethod
    def _queries_ok(cls, v: list[str]) -> list[str]:
        for i, q in enumerate(v):
            if not q.strip():
                raise ValueError(f"query {i} is empty")
            if len(q) > MAX_TEXT_CHARS:
                raise ValueError(f"query {i} has {len(q)} characters; the limit is {MAX_TEXT_CHARS}")
        return v

    @field_validator("version")
    @classmethod
    def _version_ok(cls, v: str | None) -> str | None:
        return None if v is None else check_version_name(v)

    @model_validator(mode="after")
    def _exclude_matches_queries(self) -> RetrieveRequest:
        if self.exclude_ids is not None:
            if len(self.exclude_ids) != len(self.queries):
                raise ValueError(
                    f"exclude_ids has {len(self.exclude_ids)} lists for {len(self.queries)} queries; give one per query"
                )
            if any(len(ids) > MAX_EXCLUDE_IDS for ids in self.exclude_ids):
                raise ValueError(f"at most {MAX_EXCLUDE_IDS} exclude ids per query")
        return self


class Hit(BaseModel):
    demonstration: Demonstration
    score: float
    version: str = Field(description="the retriever version that produced this hit")


class RetrieveResponse(BaseModel):
    results: list[list[Hit]] = Field(description="one list of hits per query, in request order")
    version: str = Field(description="version that served the whole request")
    arm: str = Field(description="'pinned' when the request pinned a version, else the A/B arm (= version)")
    latency_ms: float = 0.0


class SearchR1Request(_Strict):
    """Search-R1's retrieval-server request shape, for trainers of that ecosystem."""

    queries: list[QueryText] = Field(min_length=1, max_length=MAX_QUERIES_PER_REQUEST)
    topk: int = Field(default=3, ge=1, le=MAX_TOP_K)
    return_scores: bool = False

    _queries_ok = field_validator("queries")(RetrieveRequest._queries_ok.__func__)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ A/B + admin


class TrafficSplit(_Strict):
    """Weights between loaded versions; normalised by the service, zero weights allowed."""

    weights: dict[VersionName, Annotated[float, Field(json_schema_extra={"minimum": 0})]] = Field(
        min_length=1, description="weight per loaded version; at least one must be > 0",
        json_schema_extra={"propertyNames": _VERSION_SCHEMA})

    @field_validator("weights")
    @classmethod
    def _weights_ok(cls, v: dict[str, float]) -> dict[str, float]:
        for name, w in v.items():
            check_version_name(name)
            if not (w >= 0) or w == float("inf"):
                raise ValueError(f"weight of {name!r} must be a finite number >= 0")
        if sum(v.values()) <= 0:
            raise ValueError("at least one weight must be > 0")
        return v


class LoadVersionRequest(_Strict):
    name: VersionName = Field(description="folder name of the version inside the registry")
    weight: float | None = Field(default=None, ge=0, description="optional traffic weight once loaded")

    _name_ok = field_validator("name")(lambda v: check_version_name(v))


class PromoteRequest(_Strict):
    name: VersionName

    _name_ok = field_validator("name")(lambda v: check_version_name(v))


class VersionInfo(BaseModel):
    name: str
    num_demonstrations: int
    dim: int
    index_type: str
    loaded_at: str
    requests: int = 0
    manifest: dict[str, Any] = Field(default_factory=dict)


class VersionsResponse(BaseModel):
    versions: list[VersionInfo]
    split: dict[str, float]
    previous_split: dict[str, float] | None = None
    arm_requests: dict[str, int] = Field(default_factory=dict)
    feedback: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="per arm: mean training reward and count, from /feedback"
    )
    rejected: dict[str, str] = Field(default_factory=dict, description="versions that failed to load, with the reason")
    loading: list[str] = Field(default_factory=list, description="versions being loaded and warmed right now")
    generation: int = Field(default=0, description="generation of the registry deployment this replica serves "
                            "(0: none recorded yet)")
    desired_generation: int | None = Field(default=None, description="the registry's latest generation, as last read")
    sync_error: str | None = Field(default=None, description="why this replica does not serve the latest generation")


def _not_a_bool(value: Any) -> Any:
    """JSON's true/false are not counts; 3 and 3.0 are (JSON Schema's integer is the number, not its spelling)."""
    if isinstance(value, bool):
        raise ValueError("a count must be a whole number, not a boolean")
    return value


class Feedback(_Strict):
    """Training reward per retriever arm, posted by the trainer after each step. (run_id, step) identifies the
    report: the service counts it once, so a client retry after a lost answer cannot count a step twice."""

    run_id: str = Field(max_length=MAX_NAME_CHARS)
    step: int = Field(ge=0)
    rewards: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        description="mean reward per arm (version name) in this step, finite")
    counts: dict[str, Annotated[int, Field(ge=0), BeforeValidator(_not_a_bool)]] = Field(
        default_factory=dict, description="rollouts per arm in this step (whole numbers, not booleans)")


class ErrorResponse(BaseModel):
    detail: str | list[Any]
