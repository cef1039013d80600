"""Wall time of a GRPO step with retrieval vs without, on the same batches.

Five runs of RARFTTrainer with the same seed, data order and config:
  live    -- demonstrations fetched over HTTP from a real `rarft serve` (batched, prefetched): RA-RFT as trained;
  replay  -- the very same demonstrations replayed from memory (no HTTP): identical prompts, so identical
             generation work; live / replay is the cost of retrieval itself (target <= 1.05);
  plain   -- plain GRPO (no demonstrations): shorter prompts; live / plain also counts the longer prompts;
  unshared -- replay with --share-prefill false (TRL's generation, every sample prefills its prompt again), and
             plain-unshared the same for plain GRPO: unshared / replay is what the shared prefill saves.

    nice -n 10 .venv/bin/python benchmarks/bench_grpo_step.py --model POLICY --train DATA/rl.jsonl \\
        --registry REGISTRY [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from transformers import AutoTokenizer, TrainerCallback  # noqa: E402

from trainer.client import RetrievalClient  # noqa: E402
from trainer.grpo.config import RARFTConfig  # noqa: E402
from trainer.grpo.dataset import train_dataset  # noqa: E402
from trainer.grpo.trainer import RARFTTrainer  # noqa: E402


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


class RecordingClient(RetrievalClient):
    """The real client, keeping every answer so the replay run can serve the same demonstrations."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: dict[tuple[str, ...], Any] = {}

    def retrieve(self, queries, k, exclude_ids=None, version=None, routing_key=None):
        response = super().retrieve(queries, k, exclude_ids, version, routing_key)
        self.answers[tuple(queries)] = response
        return response


class ReplayClient:
    """Serves recorded answers from memory: same prompts as the live run, no HTTP."""

    timeout_s, retries = 10.0, 0

    def __init__(self, answers: dict[tuple[str, ...], Any]) -> None:
        self.answers = answers
        self._pool = ThreadPoolExecutor(max_workers=1)

    def retrieve(self, queries, k, exclude_ids=None, version=None, routing_key=None):
        return self.answers[tuple(queries)]

    def background(self, fn, *args) -> Future:
        return self._pool.submit(fn, *args)

    def wait_ready(self, timeout: float = 0) -> None:
        pass

    def feedback(self, feedback) -> None:
        pass

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def run(args: argparse.Namespace, out: Path, url: str | None, client: Any = None,
        share_prefill: bool = True) -> tuple[list[float], RARFTTrainer]:
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    config = RARFTConfig(
        output_dir=str(out), model=args.model, train_file=args.train, retrieval_url=url, max_steps=args.steps,
        per_device_train_batch_size=args.batch, num_generations=args.num_generations,
        max_completion_length=args.max_completion_length, demo_budget_tokens=args.budget, retrieval_k=args.k,
        report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True, seed=args.seed, feedback=False,
        share_prefill=share_prefill, temperature=args.temperature,
        # every completion runs to max length: the same decode work in every run, so step times compare
        generation_kwargs={"min_new_tokens": args.max_completion_length} if args.fixed_length else None,
    )
    timer = StepTimer()
    trainer = RARFTTrainer(model=args.model, args=config, train_dataset=train_dataset(args.train, tokenizer),
                           processing_class=tokenizer, client=client, callbacks=[timer])
    trainer.train()
    return timer.times, trainer


def start_service(registry: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--registry", registry, "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    with RetrievalClient(url) as c:
        c.wait_ready(120)
    return proc, url


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--registry", help="start `rarft serve` on this registry (or give --retrieval-url)")
    p.add_argument("--retrieval-url")
    p.add_argument("--steps", type=int, default=6, help="steps per run; the first is warm-up and not counted")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--num-generations", type=int, default=4)
    p.add_argument("--max-completion-length", type=int, default=64)
    p.add_argument("--budget", type=int, default=512)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (TRL's default 1.0)")
    p.add_argument("--fixed-length", action=argparse.BooleanOptionalAction, default=True,
                   help="generate every completion to --max-completion-length (default), so sampled lengths do "
                        "not decide the comparison")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args()
    proc = None
    url = args.retrieval_url
    if url is None:
        if not args.registry:
            p.error("give --registry or --retrieval-url")
        proc, url = start_service(args.registry)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            recorder = RecordingClient(url, timeout_s=10, retries=2)
            live, trainer = run(args, Path(tmp) / "live", url, recorder)
            waits = [h["wait_ms"] for h in trainer.retrieval_history[1:]]
            latencies = [h["latency_ms"] for h in trainer.retrieval_history[1:]]
            replay, _ = run(args, Path(tmp) / "replay", url, ReplayClient(recorder.answers))
            plain, _ = run(args, Path(tmp) / "plain", None)
            unshared, _ = run(args, Path(tmp) / "unshared", url, ReplayClient(recorder.answers), share_prefill=False)
            plain_unshared, _ = run(args, Path(tmp) / "plain-unshared", None, share_prefill=False)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    runs = (("live", live), ("replay", replay), ("plain", plain), ("unshared", unshared),
            ("plain_unshared", plain_unshared))
    mean = {name: statistics.mean(t[1:]) for name, t in runs}
    result = {
        "seconds_per_step": mean,
        "ratio_live_over_replay": mean["live"] / mean["replay"],
        "ratio_live_over_plain": mean["live"] / mean["plain"],
        "ratio_unshared_over_replay": mean["unshared"] / mean["replay"],
        "ratio_unshared_over_plain_unshared": mean["unshared"] / mean["plain_unshared"],
        "retrieval_latency_ms_mean": statistics.mean(latencies),
        "retrieval_wait_ms_mean": statistics.mean(waits),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
    }
    print(f"seconds/step (mean of steps 2..{args.steps}): live {mean['live']:.3f}  replay (same prompts, no HTTP) "
          f"{mean['replay']:.3f}  plain GRPO {mean['plain']:.3f}")
    print(f"retrieval cost: live/replay = {result['ratio_live_over_replay']:.3f} (target <= 1.05); "
          f"HTTP latency {result['retrieval_latency_ms_mean']:.1f} ms/batch, trainer blocked "
          f"{result['retrieval_wait_ms_mean']:.1f} ms/batch (prefetch)")
    print(f"RA-RFT vs plain GRPO (longer prompts included): live/plain = {result['ratio_live_over_plain']:.3f} "
          f"(target <= 2); with TRL's own generation (no shared prefill) "
          f"{result['ratio_unshared_over_plain_unshared']:.3f}")
    print(f"shared prefill: unshared {mean['unshared']:.3f} s/step / replay {mean['replay']:.3f} = "
          f"{result['ratio_unshared_over_replay']:.3f}x faster with demonstrations; plain GRPO "
          f"{mean['plain_unshared'] / mean['plain']:.3f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
