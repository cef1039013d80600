"""A retriever version in memory, checked against its manifest, and search with the exclusion rules.

One implementation for both sides: the service answers /retrieve from it, and labelling, distillation and
retriever evaluation search it in process, so a query sees the same hits either way.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from shared.contract import Demonstration
from shared.documents import as_document
from shared.manifests import RetrieverManifest, utc_now
from shared.text import normalize_problem
from shared.versions.encoders import EncoderBackend, load_encoder_backend
from shared.versions.index import embedding_dim, normalize, read_index, search, to_index_device  # FAISS itself loads lazily
from shared.versions.layout import (
    BANK_FILE,
    INDEX_FILE,
    REQUIRED_FILES,
    VersionError,
    encoder_dir,
    open_version_dir,
    read_manifest,
)

logger = logging.getLogger(__name__)

YIELD_EVERY = 500  # rows between GIL/CPU yields while loading (~2 ms slices), so serving threads keep their latency
BANK_OVERHEAD = 3.0  # parsed rows + pre-serialised JSON + lookup tables, relative to bank.jsonl bytes


def estimate_bytes(path: Path, manifest: RetrieverManifest, encoder_backend: EncoderBackend = "torch") -> int:
    """Resident cost of a loaded version: index + encoder weights + parsed bank (an estimate, from file sizes).
    An ONNX backend holds the weights twice: the tokenizer's model in torch and the session's copy."""
    index_bytes = (path / INDEX_FILE).stat().st_size if (path / INDEX_FILE).exists() else manifest.num_demonstrations * manifest.dim * 4
    enc = encoder_dir(path, manifest)
    encoder_bytes = sum(p.stat().st_size for p in enc.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin"))
    bank_bytes = (path / BANK_FILE).stat().st_size if (path / BANK_FILE).exists() else 0
    copies = 1 if encoder_backend.startswith("torch") else 2
    return int(index_bytes + copies * encoder_bytes + BANK_OVERHEAD * bank_bytes)


def select(ids: np.ndarray, scores: np.ndarray, excluded: Sequence[set[int]], k: int) -> list[list[tuple[int, float]]]:
    """FAISS rows to hits: drop -1 and excluded rows, keep the order, cut to k."""
    out = []
    for row_ids, row_scores, drop in zip(ids.tolist(), scores.tolist(), excluded):
        kept = [(i, s) for i, s in zip(row_ids, row_scores) if i >= 0 and i not in drop]
        out.append(kept[:k])
    return out


@dataclass
class LoadedVersion:
    """A version in memory. Immutable once built: requests holding it finish on it even after a swap."""

    name: str
    path: Path
    manifest: RetrieverManifest
    encoder: object
    index: object
    bank_json: list[str]  # each demonstration as canonical JSON: responses are assembled, not re-dumped
    by_problem: dict[str, list[int]]
    by_id: dict[str, int]
    cost_bytes: int
    loaded_at: str = field(default_factory=utc_now)
    lock: threading.Lock = field(default_factory=threading.Lock)  # encoders are not re-entrant on every backend

    def demonstration(self, i: int) -> Demonstration:
        return Demonstration.model_validate_json(self.bank_json[i])

    @cached_property
    def bank(self) -> list[Demonstration]:
        """Every demonstration, validated (parsed on first use: the service reads only the rows it answers with)."""
        return [Demonstration.model_validate_json(line) for line in self.bank_json]

    @property
    def encoder_dir(self) -> Path:
        return encoder_dir(self.path, self.manifest)

    def document(self, row: Demonstration) -> str:
        """The text this version embeds for a bank row (its manifest's `document_text`)."""
        return as_document(row, self.manifest.document_text)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings; one encoder call at a time (the lock)."""
        with self.lock:
            vecs = self.encoder.encode(list(texts), batch_size=batch_size or max(32, len(texts)), convert_to_numpy=True,
                                       normalize_embeddings=True, show_progress_bar=False)
        return normalize(vecs)

    def excluded(self, query: str, exclude_ids: Sequence[str] | None, same_problem: bool) -> set[int]:
        """Bank rows a query must not get back: rows of its own problem (leakage guard) and explicit ids."""
        out: set[int] = set(self.by_problem.get(normalize_problem(query), ())) if same_problem else set()
        for bid in exclude_ids or ():
            idx = self.by_id.get(bid)
            if idx is not None:
                out.add(idx)
        return out

    def search_width(self, k: int, excluded: Sequence[set[int]]) -> int:
        """k + the most rows any query must drop, so each query still gets k hits after filtering."""
        return min(int(self.index.ntotal), k + max((len(e) for e in excluded), default=0))

    def search_batch(self, queries: Sequence[str], k: int, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Raw (scores, ids) of the top k rows, exclusions not applied (the service's batcher merges requests here)."""
        return search(self.index, self.encode(queries, batch_size), k)

    def search(self, queries: Sequence[str], k: int, exclude_ids: Sequence[Sequence[str]] | None = None,
               exclude_same_problem: bool = True, batch_size: int | None = None) -> list[list[tuple[int, float]]]:
        """Top-k (bank position, score) per query, without its excluded rows: what /retrieve answers."""
        excluded = [self.excluded(q, exclude_ids[i] if exclude_ids else None, exclude_same_problem)
                    for i, q in enumerate(queries)]
        scores, ids = self.search_batch(queries, self.search_width(k, excluded), batch_size)
        return select(ids, scores, excluded, k)


def load_version(path: Path | str, device: str = "cpu", index_device: str = "cpu",
                 encoder_backend: EncoderBackend = "torch") -> LoadedVersion:
    """Check and load the version folder at `path` (encoder on `device` and `encoder_backend`, index on
    `index_device`); a VersionError
    says what is wrong.

    Served only after its files match their checksums and its index matches its bank and encoder.
    """
    t0 = time.perf_counter()
    path = open_version_dir(path)
    name = path.name
    manifest = read_manifest(path)
    if manifest.name != name:
        logger.warning("version folder %s holds manifest name %s; using it as %s", name, manifest.name, name)
    if not manifest.files:
        raise VersionError(f"version {name}: manifest lists no file checksums; rebuild it with rarft build-retriever")
    missing = [f for f in REQUIRED_FILES if f not in manifest.files]
    if missing:
        raise VersionError(f"version {name}: manifest does not cover {', '.join(missing)}")
    from shared.artifacts import verify_checksums

    bad = verify_checksums(path, manifest.files)
    if bad:
        raise VersionError(f"version {name}: checksum mismatch or missing file: {', '.join(sorted(bad)[:5])}")
    enc_dir = encoder_dir(path, manifest)
    cost = estimate_bytes(path, manifest, encoder_backend)

    # The bank passed its checksum, and build wrote each line with model_dump_json: keep the lines as the
    # hits' JSON and read only id + problem here (full validation of 100k rows would hold the GIL for
    # seconds while other versions serve); the first row is validated as a format check.
    ids: list[str] = []
    problems: list[str] = []
    bank_json: list[str] = []
    with open(path / BANK_FILE, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            if lineno % YIELD_EVERY == 0:
                time.sleep(0.001)
            try:
                if not bank_json:
                    Demonstration.model_validate_json(line)
                row = json.loads(line)
                ids.append(row["id"])
                problems.append(row["problem"])
            except (ValidationError, ValueError, KeyError, TypeError) as exc:
                raise VersionError(f"version {name}: bank.jsonl line {lineno} is not a demonstration: {str(exc).splitlines()[0]}") from None
            bank_json.append(line)
    index = read_index(path / INDEX_FILE)
    if index.ntotal != len(bank_json) or len(bank_json) != manifest.num_demonstrations:
        raise VersionError(f"version {name}: index holds {index.ntotal} vectors, bank {len(bank_json)} rows, manifest says "
                           f"{manifest.num_demonstrations}; rebuild the version")
    if index.d != manifest.dim:
        raise VersionError(f"version {name}: index dimension {index.d} != manifest dim {manifest.dim}")

    from shared.models import offline_if_local

    offline_if_local(str(enc_dir))
    try:
        encoder = load_encoder_backend(enc_dir, device, encoder_backend)
    except Exception as exc:  # any failure to load the encoder is a rejected version, not a crash
        raise VersionError(f"version {name}: cannot load encoder from {enc_dir.name}/: {exc}") from None
    enc_dim = int(embedding_dim(encoder))
    if enc_dim != index.d:
        raise VersionError(f"version {name}: encoder dimension {enc_dim} does not match index dimension {index.d}")
    index = to_index_device(index, index_device)

    by_problem: dict[str, list[int]] = {}
    for i, problem in enumerate(problems):
        by_problem.setdefault(normalize_problem(problem), []).append(i)
        if i % YIELD_EVERY == 0:
            time.sleep(0.001)
    logger.info("loaded version %s (%d demos, ~%.0f MB) in %.1fs", name, len(bank_json), cost / 2**20, time.perf_counter() - t0)
    return LoadedVersion(name=name, path=path, manifest=manifest, encoder=encoder, index=index, bank_json=bank_json,
                         by_problem=by_problem, by_id={bid: i for i, bid in enumerate(ids)}, cost_bytes=cost)
