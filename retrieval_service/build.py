"""`rarft build-retriever`: embed a demonstration bank and write one registry version (shared.versions.build_version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.config import CommandConfig, parse_command
from shared.contract import check_version_name
from shared.errors import UserError
from shared.models import EMBEDDED_ENCODER


class BuildRetrieverConfig(CommandConfig):
    """Embed a demonstration bank and write a retriever version into a registry."""

    bank: Path = Field(description="bank.jsonl: one Demonstration JSON per line")
    out: Path = Field(description="version directory to create, e.g. registry/v0-semantic (its name is the version name)")
    encoder: str = Field(default=EMBEDDED_ENCODER, description="sentence-transformers folder or hub name; default: the embedded MiniLM")
    index_type: Literal["flat", "hnsw", "ivf"] = Field(default="flat", description="FAISS index: flat (exact), hnsw or ivf for large banks")
    batch_size: int = Field(default=64, ge=1, le=4096, description="encoder batch size")
    parent_version: str | None = Field(default=None, description="version this one was derived from (lineage)")
    overwrite: bool = Field(default=False, description="replace an existing version directory")


def parse_args(argv: list[str] | None):
    """`rarft build-retriever`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(BuildRetrieverConfig, argv, prog="rarft build-retriever")


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    try:
        check_version_name(cfg.out.name)
    except ValueError as exc:
        raise UserError(f"--out: {exc}") from None
    from shared.versions import build_version

    manifest = build_version(
        encoder=cfg.encoder, bank=cfg.bank, out_dir=cfg.out, index_type=cfg.index_type,
        batch_size=cfg.batch_size, parent_version=cfg.parent_version, overwrite=cfg.overwrite,
    )
    print(json.dumps({"version": manifest.name, "path": str(cfg.out), "num_demonstrations": manifest.num_demonstrations,
                      "dim": manifest.dim, "index_type": manifest.index_type}))
    return 0
