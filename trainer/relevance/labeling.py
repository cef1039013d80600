"""`rarft label`: gold-relevance labels, the reasoning benefit of each candidate demonstration per query.

For a subset of the train split, build candidate pools (semantic top-N of the current retriever + M random
bank rows), score every (query, candidate) pair with the policy (trainer.relevance.benefit: teacher-forced
Δ log p of the verified solution, optionally the sampled success rate) and write one row per pair. The run
is resumable: rerun the same command after an interruption and it continues where it stopped.

Under `accelerate launch` the chunks of queries are shared among the processes (trainer.processes): each labels
every N-th chunk into its own shard files, and the main process merges them after the last one finished. A chunk's
pools and scores do not depend on which process labels it, so the file equals one process's, row for row.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.config import CommandConfig, parse_command, renamed
from shared.devices import DEVICE_HELP, DTYPE_HELP, Dtype
from shared.errors import UserError

logger = logging.getLogger(__name__)


class LabelConfig(CommandConfig):
    """Label candidate demonstrations by their reasoning benefit for the policy."""

    policy: str = Field(description="policy folder (AutoModelForCausalLM + tokenizer with chat template) or hub id")
    data: Path = Field(description="benchmark/problem directory with bank.jsonl and train.jsonl")
    out: Path = Field(description="label file to write (.jsonl or .parquet)")
    retriever: Path | None = Field(default=None, description="retriever version dir (REGISTRY/NAME) for the semantic top-N, searched in-process")
    retrieval_url: str | None = Field(default=None, description="ask a running service for the semantic top-N instead of --retriever")
    retriever_version: str | None = Field(default=None, json_schema_extra=renamed("retrieval_version"), description="with --retrieval-url: pin this version")
    split: str = Field(default="train", description="query split to label (train for distillation; test for eval-retriever's nDCG)")
    # 600: with opening-span labels more labelled queries distil a better retriever (docs/relevance.md, the sweep table)
    num_queries: int = Field(default=600, ge=0, description="queries of the split to label (seeded subset; 0 = all)")
    num_semantic: int = Field(default=4, ge=0, description="semantic top-N candidates per query")
    num_random: int = Field(default=12, ge=0, description="random bank candidates per query (cover what semantic search never shows)")
    batch_size: int = Field(default=64, ge=1, description="(query, candidate) pairs per forward pass")
    reduction: Literal["mean", "sum"] = Field(default="mean", description="benefit over target tokens: per-token mean (scale comparable across queries) or sum (= log-prob)")
    # 8 on the embedded benchmark (about its plan line): the opening tokens, where the approach is chosen, separate
    # same- from other-strategy candidates better than the whole solution (docs/relevance.md, the sweep table)
    target_tokens: int = Field(default=8, ge=0, description="score only the first N tokens of the solution, where the approach is chosen (0 = the whole solution)")
    max_length: int | None = Field(default=None, ge=16, description="cap on prompt+solution tokens (prompt cut from the left); default: the model's limit")
    chunk_queries: int = Field(default=16, ge=1, description="queries per resumable shard")
    sampled_n: int = Field(default=0, ge=0, description="also compute the sampled success rate over n samples per pair (0 = off; costly)")
    sampled_temperature: float = Field(default=1.0, gt=0, description="sampling temperature of the sampled score")
    sampled_max_new_tokens: int = Field(default=256, ge=1, description="generation length of the sampled score")
    seed: int = Field(default=0, description="seed of the query subset and the random candidates")
    device: str = Field(default="auto", description=DEVICE_HELP)
    dtype: Dtype = Field(default="auto", description=DTYPE_HELP)
    chat_template_kwargs: dict[str, Any] | None = Field(default=None, description="JSON keyword arguments of the "
                                                       "policy's chat template, e.g. '{\"enable_thinking\": false}' for Qwen3")
    num_threads: int | None = Field(default=None, ge=1, json_schema_extra=renamed("threads"), description="torch CPU threads (default: torch's choice)")
    overwrite: bool = Field(default=False, description="replace an existing label file / discard an interrupted run")
    progress: bool = Field(default=True, description="show a progress bar")

    @model_validator(mode="after")
    def _one_source(self) -> "LabelConfig":
        if self.num_semantic > 0 and self.retriever is None and self.retrieval_url is None:
            raise ValueError("give --retriever REGISTRY/NAME or --retrieval-url URL for the semantic candidates "
                             "(or --num-semantic 0)")
        if self.num_semantic + self.num_random < 2:
            raise ValueError("a pool needs at least 2 candidates (num_semantic + num_random >= 2)")
        if self.out.suffix not in (".jsonl", ".json", ".parquet"):
            raise ValueError("--out must end in .jsonl or .parquet")
        return self


def _fingerprint(cfg: LabelConfig) -> dict:
    keep = ("policy", "data", "split", "retriever", "retrieval_url", "retriever_version", "num_queries", "num_semantic",
            "num_random", "reduction", "target_tokens", "max_length", "sampled_n", "sampled_temperature", "seed")
    out = {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.model_dump().items() if k in keep}
    if cfg.chat_template_kwargs:  # only when set: shards labelled before the option existed still resume
        out["chat_template_kwargs"] = cfg.chat_template_kwargs
    return out


def _select_queries(train, num: int, seed: int):
    if num == 0 or num >= len(train):
        return list(train)
    picked = sorted(random.Random(seed).sample(range(len(train)), num))
    return [train[i] for i in picked]


def run_label(cfg: LabelConfig) -> dict[str, float]:
    """Label (resuming when shards exist), write cfg.out, print and return the summary statistics (on the main
    process; the others return {} once their shards are written)."""
    import torch
    from tqdm.auto import tqdm

    from trainer.relevance import candidates as C
    from trainer.relevance.benefit import BenefitScorer, reduce, sampled_success
    from trainer.policy.loading import load_policy
    from shared.rows import by_id, read_split
    from trainer.processes import processes
    from trainer.relevance.labels import ShardWriter, finalize, parts_dir, read_shards, separation_verdict, summarize_labels

    if cfg.out.exists() and not cfg.overwrite:
        raise UserError(f"{cfg.out} already exists; pass --overwrite to relabel")
    procs = processes(cfg.device)
    if cfg.overwrite and procs.is_main:
        import shutil

        shutil.rmtree(parts_dir(cfg.out), ignore_errors=True)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    bank = read_split(cfg.data, "bank")
    by_id(bank, "bank")
    queries = _select_queries(read_split(cfg.data, cfg.split), cfg.num_queries, cfg.seed)
    if procs.is_main:  # the main process writes (or checks) the run's fingerprint before the others read it
        ShardWriter(cfg.out, _fingerprint(cfg))
    procs.wait()
    writer = ShardWriter(cfg.out, _fingerprint(cfg), offset=procs.index, stride=procs.count)
    done = writer.done_queries()
    todo = [q for q in queries if q.id not in done]
    if done and procs.is_main:
        print(f"resuming: {len(done)} of {len(queries)} queries already labelled in {writer.dir}")
    procs.wait()  # every process has read the same shards (and numbered its own) before any writes a new one
    chunks = procs.mine([todo[s:s + cfg.chunk_queries] for s in range(0, len(todo), cfg.chunk_queries)])

    if chunks:
        model, tokenizer = load_policy(cfg.policy, device=procs.device, dtype=cfg.dtype, flag="--policy")
        scorer = BenefitScorer(model, tokenizer, cfg.batch_size, cfg.max_length, cfg.target_tokens or None,
                               cfg.chat_template_kwargs)
        semantic_search = _semantic_source(cfg, bank)
        mine = sum(len(c) for c in chunks)
        total_pairs = mine * (1 + cfg.num_semantic + cfg.num_random)
        bar = tqdm(total=total_pairs, desc="label", unit="pair", disable=not cfg.progress or not procs.is_main,
                   smoothing=0.1)
        started = time.perf_counter()
        for chunk in chunks:
            semantic = semantic_search(chunk) if cfg.num_semantic > 0 else None
            pools = C.build_pools(chunk, bank, semantic, cfg.num_random, cfg.seed)
            pairs = [(p.query, None) for p in pools] + [(p.query, c.demo) for p in pools for c in p.candidates]
            scores = scorer.score(pairs, progress=bar.update)
            successes = (sampled_success(model, tokenizer, pairs, cfg.sampled_n, cfg.sampled_temperature,
                                         cfg.sampled_max_new_tokens, cfg.batch_size, cfg.seed, cfg.chat_template_kwargs)
                         if cfg.sampled_n else None)
            writer.write(_rows(pools, scores, successes, cfg.reduction, reduce))
        bar.close()
        elapsed = max(time.perf_counter() - started, 1e-9)
        labels = mine * (cfg.num_semantic + cfg.num_random)
        who = f"process {procs.index + 1}/{procs.count}: " if procs.count > 1 else ""
        print(f"{who}labelled {mine} queries in {elapsed:.1f} s: {labels / elapsed:.1f} labels/s "
              f"({total_pairs} scored pairs with the baselines, {scorer.tokens_scored / elapsed:,.0f} tokens/s)", flush=True)

    procs.wait()  # every process's shards are on disk
    if not procs.is_main:
        return {}  # the main process merges, writes and summarises
    rows = read_shards(writer.dir)
    checksum = finalize(cfg.out, rows)
    stats = summarize_labels(rows)
    ok, line = separation_verdict(stats)
    print(f"wrote {len(rows)} labels for {int(stats['labels/queries'])} queries to {cfg.out} (sha256 {checksum[:16]})")
    for src in ("semantic", "random"):
        if f"benefit/{src}/mean" in stats:
            print(f"  mean benefit of {src} candidates: {stats[f'benefit/{src}/mean']:+.4f}")
    print("  " + line)
    if "benefit/top1_same_strategy" in stats:
        print(f"  best candidate is same-strategy in {stats['benefit/top1_same_strategy']:.1%} of pools that hold one")
    if ok is False:  # None: no strategy labels, said once in `line`
        print("!" * 100 + "\n!! WARNING: the labels do NOT clearly separate same-strategy from other-strategy candidates.\n"
              "!! Distillation will have little to learn. Check the policy warm start (does it use a demonstration?),\n"
              "!! try --reduction sum, or label more queries.\n" + "!" * 100)
    return stats


def _semantic_source(cfg: LabelConfig, bank):
    from trainer.relevance import candidates as C

    if cfg.num_semantic == 0:
        return None
    if cfg.retrieval_url:
        from trainer.client import RetrievalClient

        client = RetrievalClient(cfg.retrieval_url)
        client.wait_ready(timeout=30.0)
        return lambda chunk: C.semantic_hits_http(client, chunk, cfg.num_semantic, cfg.retriever_version)
    from shared.versions import load_version

    version = load_version(cfg.retriever)
    known = {d.id for d in bank}
    if not {d.id for d in version.bank} <= known:
        logger.warning("the retriever's bank differs from %s/bank.jsonl; candidates come from the retriever's bank", cfg.data)
    return lambda chunk: C.semantic_hits_inprocess(version, chunk, cfg.num_semantic)


def _rows(pools, scores, successes, reduction, reduce) -> list[dict]:
    n_base = len(pools)
    rows: list[dict] = []
    k = n_base
    for qi, pool in enumerate(pools):
        base = scores[qi]
        baseline = reduce(base, reduction)
        for cand in pool.candidates:
            s = scores[k]
            q, d = pool.query, cand.demo
            row = {
                "query_id": q.id,
                "candidate_id": d.id,
                "benefit": reduce(s, reduction) - baseline,
                "baseline": baseline,
                "logprob": reduce(s, reduction),
                "logprob_sum": s.logprob_sum,
                "baseline_sum": base.logprob_sum,
                "num_target_tokens": s.num_target_tokens,
                "reduction": reduction,
                "source": cand.source,
                "source_rank": cand.rank,
                "retriever_score": cand.score,
                "truncated": s.truncated,
                "query_strategy": q.strategy,
                "candidate_strategy": d.strategy,
                "same_strategy": (q.strategy == d.strategy) if q.strategy and d.strategy else None,
                "query_theme": q.theme,
                "candidate_theme": d.theme,
            }
            if successes is not None:
                row["sampled_success"] = successes[k]
                row["baseline_success"] = successes[qi]
                row["sampled_benefit"] = successes[k] - successes[qi]
            rows.append(row)
            k += 1
    return rows


def parse_args(argv: list[str] | None):
    """`rarft label`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(LabelConfig, argv, prog="rarft label")


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    run_label(cfg)
    return 0
