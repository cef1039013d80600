"""Service settings (pydantic-settings): env vars `RARFT_*`; tests pass a `Settings` object instead."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.devices import DEVICE_HELP
from shared.limits import MAX_REQUEST_BYTES
from shared.versions.encoders import ENCODER_BACKEND_HELP, EncoderBackend
from shared.versions.index import INDEX_DEVICE_HELP, IndexDevice


class Settings(BaseSettings):
    """Everything `rarft serve` needs; every field is also `RARFT_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RARFT_", extra="ignore", protected_namespaces=())

    registry: Path = Field(default=Path("registry"), description="registry directory: one sub-folder per retriever version")
    host: str = Field(default="127.0.0.1", description="bind address; loopback unless you mean to expose it")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port")
    admin_token: SecretStr | None = Field(
        default=None, description="bearer token of the /admin routes; unset = admin routes disabled (never open)"
    )
    max_request_bytes: int = Field(default=MAX_REQUEST_BYTES, ge=1024, description="bodies above this are refused (413) before parsing")
    memory_limit_mb: float = Field(
        default=4096, gt=0, description="budget for all loaded versions (index + encoder + bank estimate); a load beyond it is refused"
    )
    sync_interval_s: float = Field(
        default=2.0, ge=0, description="seconds between polls of REGISTRY/deployment.json, where replicas record changes "
        "(0 = never follow changes made elsewhere)")
    watch: bool = Field(default=False, description="poll the registry and load a version when its manifest appears")
    watch_interval_s: float = Field(default=2.0, gt=0, description="seconds between registry polls in watch mode")
    thread_pool_size: int = Field(default=2, ge=1, le=64, description="threads for CPU work (encode + search) off the event loop")
    batch_window_ms: float = Field(
        default=2.0, ge=0, le=1000,
        description="micro-batching: wait this long for concurrent requests to join one encode + one search",
    )
    max_batch_queries: int = Field(default=512, ge=1, description="largest merged batch (queries) per encode")
    load_at_startup: list[str] | None = Field(
        default=None, description="versions to load at startup (default: every version in the registry, newest first)"
    )
    warmup_query: str = Field(
        default="A train travels 120 km in 2 hours. What is its average speed?",
        description="query every version must answer before it takes traffic",
    )
    loader_nice: int = Field(
        default=10, ge=0, le=19, description="niceness of the thread that loads versions while others serve (Linux)"
    )
    log_level: str = Field(default="info", description="uvicorn log level")
    device: str = Field(default="auto", description=DEVICE_HELP + " (every version's encoder)")
    index_device: IndexDevice = Field(default="cpu", description=INDEX_DEVICE_HELP)
    encoder_backend: EncoderBackend = Field(default="torch", description=ENCODER_BACKEND_HELP)
