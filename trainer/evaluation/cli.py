"""`rarft eval`: average@k / pass@k of a policy on a problem file, optionally with retrieved demonstrations."""

from __future__ import annotations

import logging
import time

from shared.config import parse_command
from trainer.evaluation.config import EvalConfig

log = logging.getLogger(__name__)


def run(cfg: EvalConfig) -> dict:
    from trainer.evaluation.runner import evaluate, read_eval_problems, service_retriever, write_outputs
    from trainer.evaluation.sampling import make_generate_fn
    from trainer.policy.loading import load_policy
    from trainer.prompting import render_prompt

    t0 = time.perf_counter()
    rows = read_eval_problems(cfg.data, cfg.format, cfg.limit)
    policy, tokenizer = load_policy(cfg.model, device=cfg.device, dtype=cfg.dtype)
    generate = make_generate_fn(policy, tokenizer, temperature=cfg.temperature, top_p=cfg.top_p,
                                max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size, seed=cfg.seed)
    retrieve, retrieval_info = (None, None)
    if cfg.retrieval_url:
        retrieve, retrieval_info = service_retriever(cfg.retrieval_url, cfg.retrieval_k, cfg.retriever_version, cfg.retrieval_timeout_s)

    def render(problem, demos):
        return render_prompt(tokenizer, problem, demos, cfg.demo_budget_tokens, cfg.chat_template_kwargs)

    result = evaluate(rows, generate, render, cfg.k, cfg.pass_k, retrieve)
    meta = {
        "config": cfg.model_dump(mode="json"),
        "retrieval": retrieval_info,
        "num_problems": len(rows),
        "wall_time_s": round(time.perf_counter() - t0, 2),
    }
    payload = write_outputs(cfg.out, result, meta, cfg.save_samples)
    m = payload["metrics"]
    shown = ", ".join(f"{key}={m[key]:.4f}" for key in m if "@" in key)
    print(f"rarft eval: {len(rows)} problems, {shown} "
          f"({'retrieval ' + (cfg.retriever_version or 'split') if cfg.retrieval_url else 'no retrieval'}); "
          f"wrote {cfg.out}/results.json in {meta['wall_time_s']:.0f}s")
    return payload


def parse_args(argv: list[str] | None):
    """`rarft eval`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(EvalConfig, argv, prog="rarft eval")


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    run(cfg)
    return 0
