"""Recall@k of each FAISS index type against exact (flat) search, with its size on disk and queries per second.

Run on an otherwise idle box:

    .venv/bin/python benchmarks/bench_index_recall.py --size 100000 --queries 1000

Vectors are clustered Gaussians in MiniLM's 384 dimensions (real banks cluster by topic; uniform random vectors
make every approximate index look worse than it is). Each type is built once and searched with the same queries;
recall@k is the share of flat's top-k ids the index also returns. Latency is one query per search call (how the
service's single-query clients hit it), p50 / p99 over `--latency-queries` calls; memory is the index's serialised
size, which is what FAISS holds resident for these types.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import emit  # also puts the repo on sys.path and sets HF_HUB_OFFLINE


def clustered(n: int, d: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((clusters, d)).astype("float32")
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, d)).astype("float32")
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-queries", type=int, default=200, help="single-query searches timed for p50/p99")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import faiss

    from shared.versions.index import IndexSpec, build_index, normalize, search, write_index

    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    bank = normalize(clustered(args.size, args.dim, max(10, args.size // 500), rng))
    queries = normalize(bank[rng.integers(0, args.size, args.queries)] + 0.2 * rng.standard_normal((args.queries, args.dim)).astype("float32"))
    specs = {"flat": IndexSpec(), "hnsw": IndexSpec(type="hnsw"), "ivf": IndexSpec(type="ivf"),
             "ivfpq": IndexSpec(type="ivfpq")}
    results: dict[str, dict[str, float]] = {}
    truth = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in specs.items():
            t0 = time.perf_counter()
            index = build_index(bank, spec)
            built = time.perf_counter() - t0
            path = Path(tmp) / f"{name}.faiss"
            write_index(index, path)
            t0 = time.perf_counter()
            _, ids = search(index, queries, args.k)
            seconds = time.perf_counter() - t0
            if truth is None:
                truth = ids
            recall = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(ids.tolist(), truth.tolist())]))
            one = []
            for q in queries[: args.latency_queries]:
                t1 = time.perf_counter()
                search(index, q[None, :], args.k)
                one.append(time.perf_counter() - t1)
            p50, p99 = (float(np.percentile(one, q)) * 1000 for q in (50, 99))
            results[name] = {"recall_at_k": round(recall, 4), "bytes": path.stat().st_size,
                             "bytes_vs_flat": round(path.stat().st_size / (Path(tmp) / "flat.faiss").stat().st_size, 4),
                             "queries_per_s": round(args.queries / seconds, 1), "build_s": round(built, 2),
                             "p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
                             "params": spec.params()}
            print(f"{name:>6}: recall@{args.k} {recall:.3f}  size {path.stat().st_size / 2**20:8.1f} MB  "
                  f"{args.queries / seconds:9.0f} q/s batched  p50 {p50:.2f} ms  p99 {p99:.2f} ms one by one  "
                  f"built in {built:.1f} s", flush=True)
    emit({"size": args.size, "queries": args.queries, "dim": args.dim, "k": args.k, "threads": args.threads,
          "indexes": results}, args.json)


if __name__ == "__main__":
    main()
