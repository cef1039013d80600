"""`rarft build-retriever`: embed a demonstration bank and write one registry version (shared.versions.build_version)."""

from __future__ import annotations

import json

from shared.config import parse_command
from shared.contract import check_version_name
from shared.errors import UserError
from shared.versions.build import BuildRetrieverConfig


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
        batch_size=cfg.batch_size, parent_version=cfg.parent_version, overwrite=cfg.overwrite, device=cfg.device,
        index_params=cfg.index_params, document_text=cfg.document_text,
    )
    print(json.dumps({"version": manifest.name, "path": str(cfg.out), "num_demonstrations": manifest.num_demonstrations,
                      "dim": manifest.dim, "index_type": manifest.index_type,
                      "document_text": manifest.document_text}))
    return 0
