"""FAISS indexes of a version: L2-normalised vectors with inner product (= cosine similarity).

`flat` is exact and the default; `hnsw`, `ivf` and `ivfpq` trade a little recall for speed or memory on banks of
millions. Search-time parameters (efSearch, nprobe) are stored in the index file, so the service needs no flag.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import UserError

IndexType = Literal["flat", "hnsw", "ivf", "ivfpq"]
INDEX_TYPES: tuple[str, ...] = get_args(IndexType)
IndexDevice = Literal["cpu", "gpu"]
INDEX_DEVICE_HELP = ("where each version's FAISS index searches: cpu, or gpu (every GPU a faiss-gpu build sees; "
                     "flat, ivf and ivfpq indexes, HNSW stays on the CPU; GPU memory is outside --memory-limit-mb)")


class IndexSpec(BaseModel):
    """Which FAISS index a version gets, and its parameters (recorded in the manifest's `index_params`).

    flat: exact. hnsw: a graph, fast and near-exact, ~1.2x flat's memory. ivf: inverted lists, probes a share of
    them. ivfpq: inverted lists of product-quantised codes, `pq_m` bytes per vector at 8 bits instead of 4 x dim,
    for banks that do not fit in memory otherwise; recall against flat is measured by benchmarks/bench_index_recall.py.
    """

    model_config = ConfigDict(extra="forbid")

    type: IndexType = "flat"
    hnsw_m: int = Field(default=32, ge=4, le=256, description="HNSW graph degree: more = better recall, more memory")
    hnsw_ef_construction: int = Field(default=40, ge=8, description="HNSW build breadth")
    hnsw_ef_search: int = Field(default=128, ge=1, description="HNSW search breadth; >= k + exclusions keeps recall high")
    ivf_nlist: int = Field(default=0, ge=0, description="inverted lists (0: ~4 sqrt(n), at least 39 training points each)")
    ivf_nprobe: int = Field(default=16, ge=1, description="lists visited per query")
    pq_m: int = Field(default=0, ge=0, description="ivfpq sub-quantisers = bytes per vector at 8 bits (0: dim / 8); "
                                                 "must divide the dimension")
    pq_bits: int = Field(default=8, ge=4, le=12, description="ivfpq bits per sub-quantiser code")

    def params(self) -> dict[str, int]:
        """The parameters this type uses (for the manifest)."""
        used = {"flat": (), "hnsw": ("hnsw_m", "hnsw_ef_construction", "hnsw_ef_search"),
                "ivf": ("ivf_nlist", "ivf_nprobe"), "ivfpq": ("ivf_nlist", "ivf_nprobe", "pq_m", "pq_bits")}[self.type]
        return {k: getattr(self, k) for k in used}


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _nlist(spec: IndexSpec, n: int) -> int:
    # ~4 sqrt(n) lists, but at least 39 training points per list (FAISS warns below that).
    return spec.ivf_nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))


def build_index(vectors: np.ndarray, spec: IndexSpec | str = "flat", seed: int = 0):
    """Index normalised `vectors` (n, d) for inner-product search; `spec` is an IndexSpec or just its type."""
    import faiss

    if isinstance(spec, str):
        if spec not in INDEX_TYPES:
            raise ValueError(f"unknown index type {spec!r}; choose one of {', '.join(INDEX_TYPES)}")
        spec = IndexSpec(type=spec)
    vectors = normalize(vectors)
    n, d = vectors.shape
    if spec.type == "flat":
        index = faiss.IndexFlatIP(d)
    elif spec.type == "hnsw":
        index = faiss.IndexHNSWFlat(d, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.hnsw_ef_construction
        index.hnsw.efSearch = spec.hnsw_ef_search
    else:
        nlist = _nlist(spec, n)
        quantizer = faiss.IndexFlatIP(d)
        if spec.type == "ivf":
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            m = spec.pq_m or max(1, d // 8)
            if d % m:
                raise UserError(f"--pq-m {m} must divide the embedding dimension {d}")
            if n < 2 ** spec.pq_bits * 4:
                raise UserError(f"ivfpq with {spec.pq_bits}-bit codes needs at least {2 ** spec.pq_bits * 4} vectors to "
                                f"train; this bank has {n}: use flat, hnsw or ivf")
            index = faiss.IndexIVFPQ(quantizer, d, nlist, m, spec.pq_bits, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(vectors)
        index.nprobe = min(nlist, spec.ivf_nprobe)
    index.add(vectors)
    return index


def write_index(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def read_index(path: Path):
    import faiss

    return faiss.read_index(str(path))


def faiss_gpus() -> int:
    """GPUs the installed faiss can use: 0 with faiss-cpu (the default install), which has no GPU code."""
    import faiss

    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0


def check_index_device(device: str, flag: str = "--index-device") -> None:
    """Fail before any load when the GPU is asked for and this faiss cannot use one."""
    if device == "gpu" and faiss_gpus() == 0:
        raise UserError(f"{flag} gpu: the installed faiss sees no GPU (faiss-cpu, or no CUDA device); install "
                        f"faiss-gpu-cu12 in place of faiss-cpu (README, 'Qwen3 on GPUs') or use {flag} cpu")


def to_index_device(index, device: str):
    """The index as it will search: unchanged on the CPU, else cloned onto every GPU faiss sees (sharded), for banks
    whose CPU search is the bottleneck. faiss has no GPU HNSW, so an HNSW index stays on the CPU."""
    if device == "cpu":
        return index
    check_index_device(device)
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return index
    options = faiss.GpuMultipleClonerOptions()
    options.shard = True  # each GPU holds a share of the vectors, so a bank larger than one GPU's memory fits
    return faiss.index_cpu_to_all_gpus(index, co=options)


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for normalised queries; ids are -1 where fewer than k exist."""
    k = max(1, min(int(k), int(index.ntotal)))
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return scores, ids


def embedding_dim(encoder) -> int:
    """Sentence-embedding width (sentence-transformers renamed the getter in v6)."""
    getter = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(getter())
