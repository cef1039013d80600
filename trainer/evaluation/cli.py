"""`rarft eval`: average@k / pass@k of a policy on a problem file, optionally with retrieved demonstrations."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shared.config import parse_command
from shared.errors import UserError
from trainer.evaluation.config import EvalConfig

log = logging.getLogger(__name__)


def run(cfg: EvalConfig) -> dict:
    """Evaluate (resuming an interrupted run of the same settings), write cfg.out and return its results.json payload
    (on the main process; under several processes the others return {} once their batches are written)."""
    import shutil

    from tqdm.auto import tqdm

    from trainer.evaluation import batches as B
    from trainer.evaluation.runner import aggregate, read_eval_problems, score_records, service_retriever, write_outputs
    from trainer.evaluation.sampling import make_generate_fn, prompts_per_batch
    from trainer.policy.loading import check_policy, load_policy, load_tokenizer
    from trainer.processes import processes
    from trainer.prompting import render_prompt

    t0 = time.perf_counter()
    procs = processes(cfg.device)
    if cfg.use_vllm:
        _check_vllm(procs)
    rows = read_eval_problems(cfg.data, cfg.format, cfg.limit)
    if not rows:
        raise UserError("no problems to evaluate")
    parts = B.parts_dir(cfg.out)
    if procs.is_main:
        resumed = B.open_parts(parts, _fingerprint(cfg))
        if not (resumed and (parts / B.PLAN_FILE).is_file()):  # retrieval once, by one process, for every problem
            demos, info = [[] for _ in rows], None
            if cfg.retrieval_url:
                retrieve, info = service_retriever(cfg.retrieval_url, cfg.retrieval_k, cfg.retriever_version,
                                                   cfg.retrieval_timeout_s)
                demos = retrieve(rows)
                if len(demos) != len(rows):
                    raise UserError(f"retrieval returned {len(demos)} lists for {len(rows)} problems")
            B.write_plan(parts, demos, info)
    procs.wait()
    demos, retrieval_info = B.read_plan(parts, len(rows))
    tokenizer = load_tokenizer(check_policy(cfg.model), cfg.model)
    prompts = [render_prompt(tokenizer, r.problem, d, cfg.demo_budget_tokens, cfg.chat_template_kwargs)
               for r, d in zip(rows, demos)]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    batches = B.plan_batches(lengths, prompts_per_batch(cfg.batch_size, cfg.k, cfg.temperature))
    todo = B.todo_batches(parts, len(batches))
    if procs.is_main and len(todo) < len(batches):
        print(f"resuming: {len(batches) - len(todo)} of {len(batches)} batches already evaluated in {parts}")
    procs.wait()  # every process has seen the same finished batches before any writes a new one
    mine = procs.mine(todo)
    if mine and cfg.use_vllm:
        from shared.devices import resolve_dtype
        from trainer.evaluation.vllm_sampling import make_vllm_generate_fn

        generate = make_vllm_generate_fn(check_policy(cfg.model), tokenizer, temperature=cfg.temperature,
                                         top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed,
                                         dtype=resolve_dtype(cfg.dtype, procs.device),
                                         gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
                                         tensor_parallel_size=cfg.vllm_tensor_parallel_size)
    elif mine:
        policy, tokenizer = load_policy(cfg.model, device=procs.device, dtype=cfg.dtype)
        generate = make_generate_fn(policy, tokenizer, temperature=cfg.temperature, top_p=cfg.top_p,
                                    max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size, seed=cfg.seed,
                                    progress=False)

        def draw(indices: list[int], b: int) -> list[dict]:
            completions = generate([prompts[i] for i in indices], cfg.k, seed=B.batch_seed(cfg.seed, b))
            return score_records([rows[i] for i in indices], [demos[i] for i in indices], completions)

        bar = tqdm(total=sum(len(batches[b]) for b in mine), unit="prompt", disable=not procs.is_main,
                   desc=f"eval ({cfg.k} sample(s)/problem)")
        B.run_batches(parts, batches, mine, draw, progress=bar.update)
        bar.close()
    procs.wait()  # every process's batches are on disk
    if not procs.is_main:
        return {}
    records = B.merge_batches(parts, len(batches), len(rows))
    result = {"summary": aggregate(records, cfg.k, cfg.pass_k), "records": records}
    meta = {
        "config": cfg.model_dump(mode="json"),
        "retrieval": retrieval_info,
        "num_problems": len(rows),
        "num_processes": procs.count,
        "wall_time_s": round(time.perf_counter() - t0, 2),
    }
    payload = write_outputs(cfg.out, result, meta, cfg.save_samples)
    shutil.rmtree(parts, ignore_errors=True)
    m = payload["metrics"]
    shown = ", ".join(f"{key}={m[key]:.4f}" for key in m if "@" in key)
    print(f"rarft eval: {len(rows)} problems, {shown} "
          f"({'retrieval ' + (cfg.retriever_version or 'split') if cfg.retrieval_url else 'no retrieval'}); "
          f"wrote {cfg.out}/results.json in {meta['wall_time_s']:.0f}s")
    return payload


def _check_vllm(procs) -> None:
    """--use-vllm: installed, on a CUDA device, in one process (vLLM spreads a model over GPUs itself)."""
    from trainer.evaluation.vllm_sampling import import_vllm

    import_vllm()
    if procs.count > 1:
        raise UserError("--use-vllm runs one engine in one process: start `rarft eval` without accelerate launch "
                        "(--vllm-tensor-parallel-size N spreads a large model over N GPUs)")
    if not procs.device.startswith("cuda"):
        raise UserError(f"--use-vllm needs a CUDA GPU and the device is {procs.device}; "
                        "drop --use-vllm to sample with HF generate")


def _fingerprint(cfg: EvalConfig) -> dict:
    """What decides the samples: a rerun with the same fingerprint resumes the finished batches. Not the process
    count, device, retrieval URL (its port changes between runs) or output options."""
    from shared.artifacts import sha256_file
    from trainer.policy.loading import resolve_policy

    keep = ("model", "format", "k", "temperature", "top_p", "max_new_tokens", "batch_size", "limit", "seed",
            "retriever_version", "retrieval_k", "demo_budget_tokens", "dtype", "chat_template_kwargs", "use_vllm")
    out = {k: v for k, v in cfg.model_dump(mode="json").items() if k in keep}
    out["retrieval"] = cfg.retrieval_url is not None
    out["data_sha256"] = sha256_file(cfg.data)
    model = Path(resolve_policy(cfg.model))
    if model.is_dir():  # a retrained model in the same folder must not resume the old one's batches
        out["model_files"] = sorted([p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in model.iterdir() if p.is_file())
    return out


def parse_args(argv: list[str] | None):
    """`rarft eval`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(EvalConfig, argv, prog="rarft eval")


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    run(cfg)
    return 0
