"""The label dataset: resumable per-chunk shards, final file through `datasets`, validation and statistics.

One row per (query, candidate). A run writes `<out>.parts/part-NNNNN.jsonl` atomically after every chunk of
queries; a rerun reads the shards, skips the queries they hold and continues. When every query is done the
shards are merged into `<out>` (JSONL or parquet by suffix) through `datasets`, written to a temp name and
renamed, and the shards are removed: a crash never leaves a half-written label file.

Under several processes (trainer.processes) process p of N labels chunks p, p+N, p+2N, ... and writes them as
part numbers base+p, base+p+N, ...: the files of all processes together are numbered by chunk, so the merged
file holds the rows in the order one process writes them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.artifacts import atomic_write_text, sha256_file
from shared.errors import UserError

REQUIRED_COLUMNS = ("query_id", "candidate_id", "benefit", "baseline")
RUN_FILE = "run.json"


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


class ShardWriter:
    """Append-by-shard writer: each `write` is one atomic file, so an interrupted run loses at most a chunk.

    `offset`/`stride` (process index / count) number this process's files base+offset, base+offset+stride, ...,
    base being one past the highest part on disk when the writer is made (every process must make its writer
    before any of them writes)."""

    def __init__(self, out: Path, fingerprint: dict[str, Any], offset: int = 0, stride: int = 1) -> None:
        self.dir = parts_dir(out)
        self.dir.mkdir(parents=True, exist_ok=True)
        run = self.dir / RUN_FILE
        if run.is_file():
            previous = json.loads(run.read_text())
            if previous != fingerprint:
                changed = sorted(k for k in set(previous) | set(fingerprint) if previous.get(k) != fingerprint.get(k))
                raise UserError(
                    f"{self.dir} holds an interrupted run with different settings ({', '.join(changed)}); "
                    "rerun with the same options to resume, or pass --overwrite to start over"
                )
        else:
            atomic_write_text(run, json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")
        self.stride = stride
        self.next = 1 + max((int(p.stem.split("-")[1]) for p in self.dir.glob("part-*.jsonl")), default=0) + offset

    def done_queries(self) -> set[str]:
        return {row["query_id"] for row in read_shards(self.dir)}

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        text = "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows)
        atomic_write_text(self.dir / f"part-{self.next:05d}.jsonl", text)
        self.next += self.stride


def read_shards(directory: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for part in sorted(Path(directory).glob("part-*.jsonl"), key=lambda p: int(p.stem.split("-")[1])):
        rows.extend(json.loads(line) for line in part.read_text().splitlines() if line.strip())
    return rows


def finalize(out: Path, rows: list[dict[str, Any]]) -> str:
    """Write all rows to `out` through `datasets` (temp name + rename), drop the shards, return the sha256."""
    from datasets import Dataset

    if not rows:
        raise UserError("no labels were produced: the run had no queries")
    ds = Dataset.from_list(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if out.suffix == ".parquet":
            ds.to_parquet(str(tmp))
        else:
            ds.to_json(str(tmp), lines=True)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    shutil.rmtree(parts_dir(out), ignore_errors=True)
    return sha256_file(out)


def read_labels(path: Path) -> list[dict[str, Any]]:
    """Rows of a label file (JSONL or parquet) through `datasets`, with the required columns checked."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"labels file not found: {path} (write it with `rarft label`)")
    from datasets import load_dataset

    kind = "parquet" if path.suffix == ".parquet" else "json"
    try:
        ds = load_dataset(kind, data_files=str(path), split="train")
    except Exception as exc:  # datasets wraps parser errors in several types
        raise UserError(f"cannot read labels {path}: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in ds.column_names]
    if missing:
        raise UserError(f"labels {path} lack the column(s) {', '.join(missing)}; expected the output of `rarft label`")
    return ds.to_list()


def group_by_query(rows: Iterable[dict[str, Any]], known_queries: set[str] | None = None,
                   known_candidates: set[str] | None = None, source: str = "labels",
                   query_split: str = "train") -> dict[str, list[dict[str, Any]]]:
    """Rows per query, checked: finite benefits, known ids, at least two candidates per query."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i, row in enumerate(rows):
        b = row.get("benefit")
        if b is None or not isinstance(b, (int, float)) or not math.isfinite(b):
            raise UserError(f"{source} row {i} (query {row.get('query_id')!r}, candidate {row.get('candidate_id')!r}) "
                            f"has a non-finite benefit {b!r}; relabel those queries")
        if known_queries is not None and row["query_id"] not in known_queries:
            raise UserError(f"{source} row {i} references query id {row['query_id']!r}, which is not in the {query_split} split "
                            "(label and distill with the same --split)")
        if known_candidates is not None and row["candidate_id"] not in known_candidates:
            raise UserError(f"{source} row {i} references candidate id {row['candidate_id']!r}, which is not in the bank")
        groups[row["query_id"]].append(row)
    if not groups:
        raise UserError(f"{source} hold no rows")
    for qid, group in groups.items():
        if len({r["candidate_id"] for r in group}) < 2:
            raise UserError(f"{source}: the candidate pool of query {qid!r} has {len(group)} candidate(s); "
                            "distillation needs at least 2 per query")
    return dict(groups)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summarize_labels(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Separation of same- vs other-strategy candidates: means, Welch t, within-query pairwise accuracy."""
    same = [r["benefit"] for r in rows if r.get("same_strategy") is True]
    other = [r["benefit"] for r in rows if r.get("same_strategy") is False]
    stats: dict[str, float] = {
        "labels/rows": float(len(rows)),
        "labels/queries": float(len({r["query_id"] for r in rows})),
        "benefit/mean": _mean([r["benefit"] for r in rows]),
        "benefit/same_strategy/mean": _mean(same),
        "benefit/other_strategy/mean": _mean(other),
        "benefit/same_strategy/count": float(len(same)),
        "benefit/other_strategy/count": float(len(other)),
        "baseline/mean": _mean([r["baseline"] for r in rows]),
    }
    for src in sorted({r.get("source") for r in rows if r.get("source")}):
        stats[f"benefit/{src}/mean"] = _mean([r["benefit"] for r in rows if r.get("source") == src])
    if same and other:
        from scipy.stats import ttest_ind

        stats["benefit/same_minus_other"] = _mean(same) - _mean(other)
        welch = ttest_ind(same, other, equal_var=False) if len(same) > 1 and len(other) > 1 else None
        stats["benefit/welch_t"] = float(welch.statistic) if welch is not None else float("nan")
        # Within one query (same target, same baseline): how often does a same-strategy candidate beat another?
        wins = total = 0.0
        top1 = []
        for group in group_rows(rows).values():
            s = [r["benefit"] for r in group if r.get("same_strategy") is True]
            o = [r["benefit"] for r in group if r.get("same_strategy") is False]
            for a in s:
                for b in o:
                    wins += 1.0 if a > b else 0.5 if a == b else 0.0
                    total += 1
            if s:
                top1.append(max(group, key=lambda r: r["benefit"]).get("same_strategy") is True)
        stats["benefit/pairwise_same_beats_other"] = wins / total if total else float("nan")
        stats["benefit/top1_same_strategy"] = _mean([float(x) for x in top1])
        stats["pools/with_same_strategy"] = float(len(top1)) / max(1, len(group_rows(rows)))
    return stats


def group_rows(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["query_id"]].append(r)
    return groups


def separation_verdict(stats: dict[str, float]) -> tuple[bool | None, str]:
    """Whether the labels carry the signal distillation needs, as a line to print; None where it cannot be told
    (rows without strategy labels, as real corpora are: the labels then rank by measured benefit alone)."""
    if not stats.get("benefit/same_strategy/count") and not stats.get("benefit/other_strategy/count"):
        return None, ("the rows name no strategy: the labels rank candidates by measured benefit alone, and the "
                      "same- vs other-strategy check is skipped")
    if "benefit/same_minus_other" not in stats:
        return False, "no same-strategy (or no other-strategy) candidates in any pool: separation cannot be checked"
    diff, t = stats["benefit/same_minus_other"], stats["benefit/welch_t"]
    pair = stats["benefit/pairwise_same_beats_other"]
    ok = diff > 0 and t > 3 and pair > 0.6
    line = (f"same-strategy benefit {stats['benefit/same_strategy/mean']:+.4f} vs other-strategy "
            f"{stats['benefit/other_strategy/mean']:+.4f} (diff {diff:+.4f}, Welch t {t:.1f}, "
            f"within-query P(same > other) {pair:.3f})")
    return ok, line
