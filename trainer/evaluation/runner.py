"""The evaluation loop: (retrieve) -> render prompts -> sample k completions -> verify -> aggregate.

Pieces are passed in (a generate function, a retrieve function), so the loop is tested with fakes and the
CLI wires the real policy and the real HTTP client.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shared.artifacts import atomic_write_text
from shared.contract import Demonstration
from shared.errors import UserError
from shared.limits import MAX_QUERIES_PER_REQUEST
from trainer.evaluation.metrics import summarize
from trainer.evaluation.sampling import GenerateFn
from trainer.verify import is_correct

RetrieveFn = Callable[[Sequence[Demonstration]], list[list[Demonstration]]]
RenderFn = Callable[[str, Sequence[Demonstration]], str]


def read_eval_problems(path: Path, fmt: str = "auto", limit: int | None = None) -> list[Demonstration]:
    """rarft JSONL rows (the contract's Demonstration) directly; other formats through the data loaders."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"problem file not found: {path}")
    if fmt in ("auto", "rarft") and path.suffix == ".jsonl":
        rows = []
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(Demonstration.model_validate_json(line))
            except ValueError as exc:
                if fmt == "rarft":
                    raise UserError(f"{path}:{lineno}: not a rarft row: {exc}") from None
                rows = None
                break
        if rows is not None:
            return rows[:limit] if limit else rows
    try:
        from trainer.data import loaders
    except ImportError:
        raise UserError(f"{path} is not rarft JSONL and the data loaders (trainer.data.loaders) are unavailable") from None
    rows, summary = loaders.load_problems(path, None if fmt == "auto" else fmt)
    print(f"loaded {len(rows)} problems from {path} ({summary})")
    return rows[:limit] if limit else rows


def service_retriever(url: str, k: int, version: str | None, timeout: float) -> tuple[RetrieveFn, dict[str, Any]]:
    """Retrieve through the service (the one HTTP client), excluding each query's own id; records versions served."""
    from trainer.client import RetrievalClient, RetrievalError

    client = RetrievalClient(url, timeout_s=timeout)
    info: dict[str, Any] = {"url": url, "pinned_version": version, "k": k, "versions_served": {}, "latency_s": 0.0}

    def retrieve(rows: Sequence[Demonstration]) -> list[list[Demonstration]]:
        demos: list[list[Demonstration]] = []
        t0 = time.perf_counter()
        for start in range(0, len(rows), MAX_QUERIES_PER_REQUEST):
            chunk = rows[start:start + MAX_QUERIES_PER_REQUEST]
            try:
                if start == 0:
                    client.wait_ready(timeout=timeout)
                resp = client.retrieve([r.problem for r in chunk], k=k, exclude_ids=[[r.id] for r in chunk], version=version)
            except RetrievalError as exc:
                raise UserError(f"retrieval for evaluation failed: {exc}") from None
            served = info["versions_served"]
            served[resp.version] = served.get(resp.version, 0) + len(chunk)
            demos.extend([h.demonstration for h in hits] for hits in resp.results)
        info["latency_s"] += time.perf_counter() - t0
        return demos

    return retrieve, info


def evaluate(rows: Sequence[Demonstration], generate: GenerateFn, render: RenderFn, k: int,
             pass_ks: Sequence[int] = (1,), retrieve: RetrieveFn | None = None) -> dict[str, Any]:
    """Per-problem records and the aggregate metrics (overall and per strategy)."""
    if not rows:
        raise UserError("no problems to evaluate")
    demos = retrieve(rows) if retrieve is not None else [[] for _ in rows]
    if len(demos) != len(rows):
        raise UserError(f"retrieval returned {len(demos)} lists for {len(rows)} problems")
    prompts = [render(r.problem, d) for r, d in zip(rows, demos)]
    records = score_records(rows, demos, generate(prompts, k))
    return {"summary": aggregate(records, k, pass_ks), "records": records}


def score_records(rows: Sequence[Demonstration], demos: Sequence[Sequence[Demonstration]],
                  completions: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """One record per problem: its samples, which of them math-verify accepts, the demonstrations it was shown."""
    records = []
    for row, ds, samples in zip(rows, demos, completions, strict=True):
        correct = [is_correct(s, row.answer) for s in samples]
        records.append({
            "id": row.id, "strategy": row.strategy, "wording": row.metadata.get("wording"), "answer": row.answer,
            "correct": correct,
            "demo_ids": [d.id for d in ds],
            "demo_same_strategy": [bool(row.strategy) and d.strategy == row.strategy for d in ds],
            "completions": list(samples),
        })
    return records


def aggregate(records: Sequence[dict[str, Any]], k: int, pass_ks: Sequence[int] = (1,)) -> dict[str, Any]:
    """The metrics of per-problem records: avg@k, pass@k (overall, per strategy, per wording), demo strategy-match."""
    summary = summarize(records, sorted(set(pass_ks) | {k}))
    with_demos = [r for r in records if r["demo_ids"]]
    summary["overall"]["demo_strategy_match"] = (
        sum(sum(r["demo_same_strategy"]) for r in with_demos) / max(1, sum(len(r["demo_ids"]) for r in with_demos))
        if with_demos else None
    )
    return summary


def write_outputs(out: Path, result: dict[str, Any], meta: dict[str, Any], save_samples: bool = True) -> dict[str, Any]:
    """results.json (config + metrics), summary.csv (one row per strategy + overall), per_problem.csv, samples.jsonl."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = result["summary"]
    payload = {**meta, "metrics": summary["overall"], "per_strategy": summary["per_strategy"],
               "per_wording": summary["per_wording"]}
    rows = [{"strategy": "ALL", **summary["overall"]}] + [{"strategy": s, **m} for s, m in summary["per_strategy"].items()]
    atomic_write_text(out / "summary.csv", _csv(rows))
    atomic_write_text(out / "per_problem.csv", _csv([
        {"id": r["id"], "strategy": r["strategy"] or "", "num_correct": sum(r["correct"]), "num_samples": len(r["correct"]),
         "accuracy": sum(r["correct"]) / len(r["correct"]), "demo_ids": " ".join(r["demo_ids"])}
        for r in result["records"]
    ]))
    if save_samples:
        atomic_write_text(out / "samples.jsonl", "".join(
            json.dumps({"id": r["id"], "answer": r["answer"], "demo_ids": r["demo_ids"], "correct": r["correct"],
                        "completions": r["completions"]}) + "\n" for r in result["records"]))
    atomic_write_text(out / "results.json", json.dumps(payload, indent=2) + "\n")
    return payload


def _csv(rows: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
