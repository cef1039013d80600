"""Seconds per warm-start SFT step: batch sizes, torch.compile and bf16 side by side, on the same examples.

    nice -n 10 .venv/bin/python benchmarks/bench_warmstart.py --policy POLICY --data DATA \
        [--rows 600 --steps 80 --batch-sizes 8,16 --compile --bf16]

Each configuration trains a fresh copy of POLICY with TRL's SFTTrainer exactly as `rarft init-policy` builds its
examples (trainer.policy.warmstart: the default mixture, 1-3 demonstrations, loss on the demonstrations' solutions,
group_by_length). The first `--warmup` steps are not counted (allocator, kernels, and with --compile the
compilation, reported separately). The figure that decides a warm start's time is seconds per example.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import emit  # also puts the repo on sys.path and sets HF_HUB_OFFLINE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--rows", type=int, default=600, help="train rows the examples are drawn for")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--warmup", type=int, default=10, help="steps not counted")
    parser.add_argument("--batch-sizes", default="8,16")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile at the first batch size")
    parser.add_argument("--bf16", action="store_true", help="also time bf16 autocast at the first batch size (fast only "
                        "where the CPU has native bf16 matmuls: AVX512-BF16 or AMX)")
    parser.add_argument("--num-threads", "--threads", dest="threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from trainer.policy.loading import load_policy
    from trainer.policy.warmstart import Mixture, build_sft_examples, tokenize_with_loss_mask
    from shared.rows import read_split

    torch.set_num_threads(args.threads)
    _, tokenizer = load_policy(args.policy)
    examples = build_sft_examples(tokenizer, read_split(args.data, "train")[: args.rows], read_split(args.data, "bank"),
                                  Mixture(), epochs=1, max_demos=3, seed=0, novel_wordings="with-demos")
    dataset = Dataset.from_list([tokenize_with_loss_mask(tokenizer, e, True) for e in examples])

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_step_end(self, *_, **__) -> None:
            self.ends.append(time.perf_counter())

    def timed(batch_size: int, compile_model: bool, bf16: bool = False) -> dict[str, float]:
        model, _ = load_policy(args.policy)
        clock = StepClock()
        with tempfile.TemporaryDirectory() as tmp:
            config = SFTConfig(output_dir=tmp, max_steps=args.steps, per_device_train_batch_size=batch_size,
                               learning_rate=1e-4, max_length=1024, completion_only_loss=True,
                               train_sampling_strategy="group_by_length", logging_steps=10_000, save_strategy="no",
                               report_to="none", use_cpu=True, seed=0, data_seed=0, disable_tqdm=True,
                               torch_compile=compile_model, bf16=bf16)
            trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                                 callbacks=[clock])
            start = time.perf_counter()
            trainer.train()
        counted = clock.ends[args.warmup:]
        per_step = (counted[-1] - counted[0]) / (len(counted) - 1)
        return {"batch_size": batch_size, "compile": compile_model, "bf16": bf16, "s_per_step": round(per_step, 3),
                "s_per_example": round(per_step / batch_size, 4),
                "first_steps_s": round(clock.ends[args.warmup] - start, 1)}

    sizes = [int(b) for b in args.batch_sizes.split(",")]
    runs = [timed(b, False) for b in sizes]
    if args.compile:
        runs.append(timed(sizes[0], True))
    if args.bf16:
        runs.append(timed(sizes[0], False, bf16=True))
    reference = runs[0]["s_per_example"]
    for r in runs:
        r["speedup_per_example"] = round(reference / r["s_per_example"], 2)
    result = {"examples": len(examples), "steps": args.steps, "warmup": args.warmup, "threads": args.threads,
              "runs": runs}
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
