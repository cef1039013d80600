"""Query encoding on each encoder backend side by side: torch (sentence-transformers), torch-bf16, onnx, onnx-int8.

    .venv/bin/python benchmarks/bench_encoder_backends.py [--bank-size 2000 --queries 256 --batch-sizes 1,8,32]

The embedded MiniLM is loaded on each backend exactly as a served version loads it
(shared.versions.encoders.load_encoder_backend). Prints queries/s per batch size (best of --rounds), the ratio to torch, and how
far each backend's answers are from torch fp32: the lowest cosine between the two embeddings of a query, and
top-4 agreement of flat inner-product search over a bank encoded once by torch (the issue's bar: >= 0.99).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import emit, problem_text, queries  # also puts the repo on sys.path and sets HF_HUB_OFFLINE

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank-size", type=int, default=2000)
    p.add_argument("--queries", type=int, default=256)
    p.add_argument("--batch-sizes", default="1,8,32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="timed passes per batch size; the best is kept (a shared VM is noisy)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()

    import torch

    from shared.models import EMBEDDED_ENCODER, resolve_encoder_path
    from shared.versions.encoders import load_encoder_backend

    torch.set_num_threads(args.threads)
    enc_dir = Path(resolve_encoder_path(EMBEDDED_ENCODER))
    qs = queries(args.queries)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    results: dict[str, dict] = {}
    reference = bank = None
    for backend in BACKENDS:
        t0 = time.perf_counter()
        try:
            encoder = load_encoder_backend(enc_dir, "cpu", backend)
        except ValueError as exc:  # torch-bf16 on a CPU without bf16 matmuls, onnx* without onnxruntime
            print(f"{backend}: not run: {exc}")
            continue
        loaded = time.perf_counter() - t0
        if bank is None:
            bank = encoder.encode([problem_text(i) for i in range(args.bank_size)], batch_size=64, normalize_embeddings=True)
        vecs = encoder.encode(qs, batch_size=32, normalize_embeddings=True)
        if reference is None:
            reference = vecs
        top = lambda v: np.argsort(-(v @ bank.T), axis=1)[:, :4]  # noqa: E731
        agreement = float(np.mean([len(set(a) & set(b)) / 4 for a, b in zip(top(vecs).tolist(), top(reference).tolist())]))
        entry = {"load_s": round(loaded, 1), "min_cosine_vs_torch": round(float(np.min(np.sum(vecs * reference, axis=1))), 5),
                 "top4_agreement_vs_torch": round(agreement, 4), "qps": {}}
        for bs in sizes:
            encoder.encode(qs[: max(bs, 8)], batch_size=bs)  # warm-up
            best = 0.0
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                for start in range(0, len(qs), bs):  # one call per batch, as the service's batcher makes them
                    encoder.encode(qs[start:start + bs], batch_size=bs, normalize_embeddings=True)
                best = max(best, len(qs) / (time.perf_counter() - t0))
            entry["qps"][bs] = round(best, 1)
        results[backend] = entry
        del encoder
    print(f"\n{'backend':<10} " + " ".join(f"{'batch ' + str(b) + ' q/s':>14} {'x torch':>8}" for b in sizes)
          + f" {'min cos':>9} {'top-4 agr':>10} {'load s':>7}")
    for backend, e in results.items():
        cells = " ".join(f"{e['qps'][b]:>14} {e['qps'][b] / results['torch']['qps'][b]:>7.2f}x" for b in sizes)
        print(f"{backend:<10} {cells} {e['min_cosine_vs_torch']:>9} {e['top4_agreement_vs_torch']:>10} {e['load_s']:>7}")
    emit({"bank_size": args.bank_size, "queries": args.queries, "threads": args.threads, "rounds": args.rounds, "backends": results}, args.json)


if __name__ == "__main__":
    main()
