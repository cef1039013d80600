"""Write one registry version, atomically: embed the bank, index it, save the encoder, checksum every file.

It is written to a temp dir beside the target and renamed, so a crash never leaves half a version for the service
(or its watcher) to find. `rarft build-retriever` and `rarft distill` both write through `build_version`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from shared.artifacts import atomic_dir, checksum_tree, sha256_file, write_manifest
from shared.config import CommandConfig
from shared.contract import Demonstration, check_version_name
from shared.devices import DEVICE_HELP
from shared.documents import DOCUMENT_TEXT_HELP, DocumentText, as_document
from shared.errors import UserError
from shared.manifests import RetrieverManifest
from shared.models import EMBEDDED_ENCODER
from shared.rows import read_required_rows, write_rows
from shared.versions.index import INDEX_TYPES, IndexSpec, IndexType, build_index, embedding_dim, normalize, write_index
from shared.versions.layout import BANK_FILE, ENCODER_DIR, INDEX_FILE

logger = logging.getLogger(__name__)


def build_version(
    encoder: Any = EMBEDDED_ENCODER,
    bank: Iterable[Demonstration | dict] | str | Path = (),
    out_dir: str | Path = "registry/v0",
    index_type: IndexType = "flat",
    batch_size: int = 64,
    parent_version: str | None = None,
    labels_checksum: str | None = None,
    training_metrics: dict[str, Any] | None = None,
    embeddings: np.ndarray | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    device: str = "auto",
    index_params: Mapping[str, int] | None = None,
    document_text: DocumentText = "problem",
) -> RetrieverManifest:
    """Embed the bank's documents (`document_text`), index them, and write `out_dir` as one version.

    `encoder` is a SentenceTransformer, a folder, a hub name or the embedded-MiniLM sentinel. The
    encoder is saved into the version, so the service never depends on where it came from.
    `embeddings` (n, d) skips encoding (benchmarks that index random vectors at scale).
    """
    out_dir = Path(out_dir)
    name = check_version_name(out_dir.name)
    rows = read_required_rows(bank, "bank file") if isinstance(bank, (str, Path)) else [
        r if isinstance(r, Demonstration) else Demonstration.model_validate(r) for r in bank
    ]
    if not rows:
        raise UserError("the bank is empty: give at least one demonstration")
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UserError(f"bank ids must be unique; {dup!r} appears more than once")
    if index_type not in INDEX_TYPES:
        raise UserError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    try:
        spec = IndexSpec(type=index_type, **dict(index_params or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserError(f"--index-params: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None

    if isinstance(encoder, (str, Path)):
        from shared.models import load_encoder

        from shared.devices import resolve_device

        encoder = load_encoder(str(encoder), device=resolve_device(device))
    dim = int(embedding_dim(encoder))

    if embeddings is None:
        vectors = encoder.encode(
            [as_document(r, document_text) for r in rows], batch_size=batch_size, show_progress_bar=show_progress,
            convert_to_numpy=True, normalize_embeddings=True,
        )
    else:
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.shape != (len(rows), dim):
            raise UserError(f"embeddings have shape {vectors.shape}; expected ({len(rows)}, {dim})")
    vectors = normalize(vectors)

    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        logger.info("indexing %d vectors (dim %d, %s)", len(rows), dim, index_type)
        write_index(build_index(vectors, spec), tmp / INDEX_FILE)
        write_rows(tmp / BANK_FILE, rows)
        encoder.save(str(tmp / ENCODER_DIR), create_model_card=False)
        manifest = RetrieverManifest(
            name=name, encoder_path=ENCODER_DIR, index_type=index_type, index_params=spec.params(),
            document_text=document_text, dim=dim,
            num_demonstrations=len(rows),
            bank_checksum=sha256_file(tmp / BANK_FILE), parent_version=parent_version,
            labels_checksum=labels_checksum, training_metrics=dict(training_metrics or {}),
            files=checksum_tree(tmp),
        )
        write_manifest(tmp, manifest)
    logger.info("wrote version %s (%d demonstrations) to %s", name, len(rows), out_dir)
    return manifest


class BuildRetrieverConfig(CommandConfig):
    """Embed a demonstration bank and write a retriever version into a registry."""

    bank: Path = Field(description="bank.jsonl: one Demonstration JSON per line")
    out: Path = Field(description="version directory to create, e.g. registry/v0-semantic (its name is the version name)")
    encoder: str = Field(default=EMBEDDED_ENCODER, description="sentence-transformers folder or hub name; default: the embedded MiniLM")
    index_type: IndexType = Field(default="flat", description="FAISS index: flat (exact), hnsw, ivf, or ivfpq (compressed "
                                  "codes) for banks of millions")
    index_params: dict[str, int] | None = Field(default=None, description="JSON parameters of the index type "
                                                "(shared.versions.index.IndexSpec), e.g. '{\"hnsw_m\": 64}' or "
                                                "'{\"ivf_nlist\": 4096, \"pq_m\": 48}'")
    document_text: DocumentText = Field(default="problem", description=DOCUMENT_TEXT_HELP)
    batch_size: int = Field(default=64, ge=1, le=4096, description="encoder batch size")
    parent_version: str | None = Field(default=None, description="version this one was derived from (lineage)")
    overwrite: bool = Field(default=False, description="replace an existing version directory")
    device: str = Field(default="auto", description=DEVICE_HELP + " (the encoder that embeds the bank)")
