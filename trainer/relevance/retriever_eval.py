"""`rarft eval-retriever`: how well a retriever version finds demonstrations that help, on held-out queries.

Per version, on the test split (or any split):
    strategy_match@k        share of the top-k bank hits with the query's strategy (embedded benchmark); also per
                            question wording (`strategy_match@k/unseen`: test-only phrasings no bank row has)
    distinct_strategies@k   distinct strategies among the top-k (diversity)
    pairwise_distance@k     mean cosine distance between the top-k hits' embeddings (diversity), embedded by one
                            reference encoder for every version (default: the embedded MiniLM): a version's own
                            space is not comparable across versions (a distilled encoder packs each strategy into
                            a tight cluster, so in its own space every top-k looks like near-duplicates)
    ndcg@k, pool_top{k}_benefit   with --labels: rank each labelled pool by the version's similarity; nDCG@k
                            against the gold benefit and the mean gold benefit of the top-k
    benefit@k               with --policy: the benefit of the version's own top-k, measured with the policy
Python entry point for the experiment pipeline: `evaluate_versions(...)`.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from shared.config import CommandConfig, parse_command, renamed
from shared.devices import DEVICE_HELP, DTYPE_HELP, Dtype, resolve_device
from shared.errors import UserError
from shared.models import EMBEDDED_ENCODER


class EvalRetrieverConfig(CommandConfig):
    """Evaluate retriever versions (strategy-match@k, nDCG@k vs gold benefit, diversity) side by side."""

    retriever: Path = Field(json_schema_extra=renamed("version"), description="retriever version dir to evaluate (REGISTRY/NAME)")
    data: Path = Field(description="benchmark/problem directory holding the query split")
    out: Path = Field(description="output dir for results.json and results.csv")
    compare: list[Path] = Field(default_factory=list, description="more version dirs to put beside it (e.g. the semantic v0)")
    labels: Path | None = Field(default=None, description="label file whose query ids are in --split: nDCG@k and pool benefit")
    policy: str | None = Field(default=None, description="policy dir: measure the benefit of each version's own top-k (benefit@k)")
    split: str = Field(default="test", description="query split (held-out queries)")
    k: int = Field(default=4, ge=1, le=64, description="cut-off of every @k metric")
    num_queries: int = Field(default=0, ge=0, description="seeded subset of the split (0 = all)")
    batch_size: int = Field(default=32, ge=1, description="policy batch size for benefit@k")
    diversity_encoder: str = Field(default=EMBEDDED_ENCODER, description="sentence-transformers encoder that embeds every "
                                   "version's top-k for pairwise_distance@k (one space, so versions compare)")
    seed: int = Field(default=0, description="seed of the query subset")
    overwrite: bool = Field(default=False, description="replace an existing output dir")
    device: str = Field(default="auto", description=DEVICE_HELP)
    dtype: Dtype = Field(default="auto", description=DTYPE_HELP + " (the policy of benefit@k)")


def evaluate_version(version: Any, queries: Sequence[Any], k: int = 4, groups: dict[str, list[dict]] | None = None,
                     candidates: dict[str, Any] | None = None, scorer: Any = None,
                     reference: Any = None) -> dict[str, float]:
    """Metrics of one LoadedVersion (shared.versions) on the given query rows; `reference` (a
    SentenceTransformer) embeds the hits for pairwise_distance@k, the version's own encoder when None."""
    from trainer.relevance import metrics as M

    hits = version.search([q.problem for q in queries], k, [[q.id] for q in queries], batch_size=64)
    out: dict[str, float] = {"queries": float(len(queries))}
    strategies = [[version.bank[i].strategy for i, _ in row] for row in hits]
    if all(q.strategy for q in queries):
        matches = [M.strategy_match_at_k(q.strategy, s, k) for q, s in zip(queries, strategies)]
        out[f"strategy_match@{k}"] = M.mean(matches)
        by_wording: dict[str, list[float | None]] = {}  # familiar / novel / unseen wordings of the embedded benchmark
        for q, m in zip(queries, matches):
            if "wording" in q.metadata:
                by_wording.setdefault(str(q.metadata["wording"]), []).append(m)
        out.update({f"strategy_match@{k}/{w}": M.mean(v) for w, v in sorted(by_wording.items())})
    out[f"distinct_strategies@{k}"] = M.mean([float(M.distinct(s)) for s in strategies])
    hit_texts = sorted({version.bank[i].problem for row in hits for i, _ in row})
    if reference is None:
        embed = version.encode
    else:
        from trainer.data.semantic_check import encode

        def embed(texts: Sequence[str]) -> np.ndarray:
            return encode(reference, texts, show_progress=False)
    emb = dict(zip(hit_texts, embed(hit_texts))) if hit_texts else {}
    out[f"pairwise_distance@{k}"] = M.mean([
        M.mean_pairwise_distance(np.stack([emb[version.bank[i].problem] for i, _ in row])) for row in hits if row])
    if groups:
        ndcg, top, oracle = [], [], []
        q_by_id = {q.id: q for q in queries}
        labelled = [qid for qid in groups if qid in q_by_id]
        q_emb = version.encode([q_by_id[qid].problem for qid in labelled]) if labelled else []
        for qe, qid in zip(q_emb, labelled):
            texts = [version.document(candidates[r["candidate_id"]]) for r in groups[qid]]
            benefits = np.asarray([r["benefit"] for r in groups[qid]])
            sims = version.encode(texts) @ qe
            ndcg.append(M.ndcg_at_k(sims, benefits, k))
            top.append(float(benefits[np.argsort(-sims)[:k]].mean()))
            oracle.append(float(np.sort(benefits)[::-1][:k].mean()))
        if ndcg:
            out.update({f"ndcg@{k}": M.mean(ndcg), f"pool_top{k}_benefit": M.mean(top),
                        f"pool_oracle_top{k}_benefit": M.mean(oracle), "labelled_queries": float(len(ndcg))})
    if scorer is not None:
        from trainer.relevance.benefit import reduce

        pairs = [(q, None) for q in queries] + [(q, version.bank[i]) for q, row in zip(queries, hits) for i, _ in row]
        scores = scorer.score(pairs)
        base = {q.id: reduce(s, "mean") for q, s in zip(queries, scores[:len(queries)])}
        out[f"benefit@{k}"] = M.mean([reduce(s, "mean") - base[q.id] for (q, _), s in zip(pairs[len(queries):], scores[len(queries):])])
    return out


def evaluate_versions(versions: Sequence[Path], data: Path, split: str = "test", k: int = 4, labels: Path | None = None,
                      policy: str | None = None, num_queries: int = 0, seed: int = 0, batch_size: int = 32,
                      diversity_encoder: str | None = EMBEDDED_ENCODER, device: str = "auto",
                      dtype: str = "auto") -> dict[str, dict[str, float]]:
    """Metrics per version name, for the CLI and the experiment pipeline (no files written); `diversity_encoder`
    None measures each version's diversity in its own space."""
    from trainer.policy.loading import load_policy
    from shared.rows import by_id, read_split
    from trainer.relevance.labels import group_by_query, read_labels
    from shared.versions import load_version

    queries = read_split(data, split)
    if num_queries and num_queries < len(queries):
        queries = [queries[i] for i in sorted(random.Random(seed).sample(range(len(queries)), num_queries))]
    groups = candidates = None
    if labels is not None:
        candidates = by_id(read_split(data, "bank"), "bank")
        q_ids = {q.id for q in queries}
        groups = {q: g for q, g in group_by_query(read_labels(labels), None, set(candidates), str(labels)).items() if q in q_ids}
        if not groups:
            raise UserError(f"{labels} holds no labels for the {split} queries; label them with `rarft label --split {split}`")
    scorer = None
    if policy is not None:
        from trainer.relevance.benefit import BenefitScorer

        scorer = BenefitScorer(*load_policy(policy, device=device, dtype=dtype, flag="--policy"), batch_size=batch_size)
    reference = None
    if diversity_encoder is not None:
        from shared.models import load_encoder

        reference = load_encoder(diversity_encoder, device=resolve_device(device))
    results: dict[str, dict[str, float]] = {}
    for path in versions:
        version = load_version(path, device=resolve_device(device))
        if version.name in results:
            raise UserError(f"two versions are named {version.name!r}; compare distinct versions")
        results[version.name] = evaluate_version(version, queries, k, groups, candidates, scorer, reference)
    return results


def to_csv(results: dict[str, dict[str, float]]) -> str:
    columns = sorted({c for r in results.values() for c in r})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["version", *columns])
    for name, row in results.items():
        writer.writerow([name, *(f"{row[c]:.4f}" if c in row else "" for c in columns)])
    return buf.getvalue()


def format_table(results: dict[str, dict[str, float]]) -> str:
    columns = sorted({c for r in results.values() for c in r})
    width = max(len(c) for c in columns)
    names = list(results)
    lines = [f"{'metric':<{width}}  " + "  ".join(f"{n:>14}" for n in names)]
    for c in columns:
        lines.append(f"{c:<{width}}  " + "  ".join(f"{results[n].get(c, float('nan')):>14.4f}" for n in names))
    return "\n".join(lines)


def parse_args(argv: list[str] | None):
    """`rarft eval-retriever`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(EvalRetrieverConfig, argv, prog="rarft eval-retriever")


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    from shared.artifacts import atomic_dir

    if cfg.out.exists() and not cfg.overwrite:
        raise UserError(f"{cfg.out} already exists; pass --overwrite or choose another directory")
    results = evaluate_versions([cfg.retriever, *cfg.compare], cfg.data, cfg.split, cfg.k, cfg.labels, cfg.policy,
                                cfg.num_queries, cfg.seed, cfg.batch_size, cfg.diversity_encoder, cfg.device, cfg.dtype)
    with atomic_dir(cfg.out, overwrite=cfg.overwrite) as tmp:
        (tmp / "results.json").write_text(json.dumps({"split": cfg.split, "k": cfg.k, "versions": results}, indent=2) + "\n")
        (tmp / "results.csv").write_text(to_csv(results))
    print(format_table(results))
    print(f"wrote {cfg.out}/results.json and results.csv")
    return 0
