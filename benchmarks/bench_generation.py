"""Sampling k completions per prompt: one shared prefill vs HF's `num_return_sequences`, at several batch sizes.

    nice -n 10 .venv/bin/python benchmarks/bench_generation.py --policy POLICY --data DATA \
        [--problems 48 --k 8 --demos 2 --batch-sizes 32,128]

The prompts are dev problems with `--demos` same-strategy bank demonstrations each (as RA-RFT's rollouts and the
evaluation with retrieval see them; `--demos 0` for the no-retrieval condition). Every configuration runs
trainer.generation.generate on the same prompts and seed; "plain" is `share_prefill=False`. `--batch-sizes`
counts sequences per generate call, as `rarft eval --batch-size` does. The script first checks that the two
paths agree at temperature 1e-4 (argmax sampling) on a few prompts, then prints seconds and ratios side by side.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from _common import emit  # also puts the repo on sys.path and sets HF_HUB_OFFLINE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--problems", type=int, default=48)
    parser.add_argument("--k", type=int, default=8, help="samples per problem")
    parser.add_argument("--demos", type=int, default=2, help="same-strategy demonstrations per prompt")
    parser.add_argument("--batch-sizes", default="32,128", help="comma-separated sequences per generate call")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--num-threads", "--threads", dest="threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    import torch

    from trainer.generation import generate
    from trainer.policy.loading import load_policy
    from trainer.policy.warmstart import StrategyIndex
    from trainer.prompting import render_prompt
    from shared.rows import read_split

    torch.set_num_threads(args.threads)
    model, tokenizer = load_policy(args.policy)
    index = StrategyIndex(read_split(args.data, "bank"))
    rng = random.Random(args.seed)
    rows = read_split(args.data, "dev")[: args.problems]
    prompts = [render_prompt(tokenizer, r.problem, index.draw(rng, r, "same", args.demos) if args.demos else [])
               for r in rows]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]

    check = dict(max_new_tokens=16, temperature=1e-4, num_samples=args.k, batch_size=4 * args.k, seed=args.seed,
                 progress=False)
    if generate(model, tokenizer, prompts[:4], share_prefill=True, **check) != \
            generate(model, tokenizer, prompts[:4], share_prefill=False, **check):
        print("ERROR: shared prefill and num_return_sequences disagree at temperature 1e-4", file=sys.stderr)
        return 1

    def timed(batch_size: int, share: bool) -> dict[str, float]:
        start = time.perf_counter()
        out = generate(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                       num_samples=args.k, batch_size=batch_size, seed=args.seed, progress=False,
                       share_prefill=share)
        seconds = time.perf_counter() - start
        tokens = sum(len(tokenizer(c, add_special_tokens=False)["input_ids"]) for cs in out for c in cs)
        return {"seconds": round(seconds, 2), "completion_tokens": tokens,
                "completion_tokens_per_s": round(tokens / seconds, 1)}

    sizes = [int(b) for b in args.batch_sizes.split(",")]
    rows_out = {}
    for b in sizes:
        for share in (False, True):
            rows_out[f"{'shared' if share else 'plain'}@{b}"] = timed(b, share)
    reference = rows_out[f"plain@{sizes[0]}"]["seconds"]
    for name, r in rows_out.items():
        r["speedup_vs_plain@%d" % sizes[0]] = round(reference / r["seconds"], 2)
    result = {"problems": len(prompts), "k": args.k, "demos": args.demos, "threads": args.threads,
              "mean_prompt_tokens": round(sum(lengths) / len(lengths), 1), "max_new_tokens": args.max_new_tokens,
              "runs": rows_out}
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
