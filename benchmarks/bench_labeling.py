"""Batched benefit labelling vs one candidate at a time, on the same policy and the same (query, demo) pairs.

    nice -n 10 .venv/bin/python benchmarks/bench_labeling.py --policy POLICY --data DATA [--queries 8 --pool 16]

Both paths run trainer.relevance.benefit.BenefitScorer; "one at a time" is batch_size=1 (one forward pass per
pair), "batched" packs --batch-size pairs per forward pass (length-sorted, left-padded, logits only for the
target positions). The script checks the two give the same log-probabilities before it reports the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--queries", type=int, default=8)
    parser.add_argument("--pool", type=int, default=16, help="random candidates per query")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-threads", "--threads", dest="threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    import torch

    from trainer.relevance.benefit import BenefitScorer
    from trainer.relevance.candidates import build_pools
    from trainer.policy.loading import load_policy
    from shared.rows import read_split

    torch.set_num_threads(args.threads)
    model, tokenizer = load_policy(args.policy)
    queries = read_split(args.data, "train")[: args.queries]
    pools = build_pools(queries, read_split(args.data, "bank"), None, args.pool, args.seed)
    pairs = [(p.query, None) for p in pools] + [(p.query, c.demo) for p in pools for c in p.candidates]

    def timed(batch_size: int) -> tuple[float, list[float]]:
        scorer = BenefitScorer(model, tokenizer, batch_size=batch_size)
        scorer.score(pairs[: min(len(pairs), batch_size)])  # warm-up: allocator, kernels
        start = time.perf_counter()
        scores = scorer.score(pairs)
        return time.perf_counter() - start, [s.logprob_sum for s in scores]

    t_batched, batched = timed(args.batch_size)
    t_single, single = timed(1)
    max_diff = max(abs(a - b) for a, b in zip(batched, single))
    result = {
        "pairs": len(pairs), "batch_size": args.batch_size, "threads": args.threads,
        "one_at_a_time_s": round(t_single, 3), "batched_s": round(t_batched, 3),
        "one_at_a_time_pairs_per_s": round(len(pairs) / t_single, 1),
        "batched_pairs_per_s": round(len(pairs) / t_batched, 1),
        "speedup": round(t_single / t_batched, 2), "max_abs_logprob_diff": max_diff,
    }
    print(json.dumps(result, indent=2))
    if max_diff > 1e-2 * max(1.0, max(abs(x) for x in single)):
        print("ERROR: batched and one-at-a-time log-probabilities disagree", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
