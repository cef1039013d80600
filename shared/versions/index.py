"""FAISS indexes of a version: L2-normalised vectors with inner product (= cosine similarity).

`flat` is exact and the default; `hnsw` and `ivf` trade a little recall for speed on banks of millions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

INDEX_TYPES = ("flat", "hnsw", "ivf")
HNSW_M = 32  # graph degree: the FAISS default range; more = better recall, more memory
HNSW_EF_SEARCH = 128  # search breadth; >= k + exclusions keeps recall high
IVF_NPROBE = 16  # lists visited per query


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def build_index(vectors: np.ndarray, index_type: str = "flat", seed: int = 0):
    """Index normalised `vectors` (n, d) for inner-product search."""
    import faiss

    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    vectors = normalize(vectors)
    n, d = vectors.shape
    if index_type == "flat":
        index = faiss.IndexFlatIP(d)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        # ~4 sqrt(n) lists, but at least 39 training points per list (FAISS warns below that).
        nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(vectors)
        index.nprobe = min(nlist, IVF_NPROBE)
    index.add(vectors)
    return index


def write_index(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def read_index(path: Path):
    import faiss

    return faiss.read_index(str(path))


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for normalised queries; ids are -1 where fewer than k exist."""
    k = max(1, min(int(k), int(index.ntotal)))
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return scores, ids


def embedding_dim(encoder) -> int:
    """Sentence-embedding width (sentence-transformers renamed the getter in v6)."""
    getter = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(getter())
