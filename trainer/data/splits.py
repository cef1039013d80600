"""Leakage-safe splits: no two splits (bank, train, rl, dev, test) share a problem (normalised-text hash).

The benchmark generator avoids collisions at the source; `split_rows` splits a loaded file the same way
(duplicates collapsed first, so a problem can never land on both sides), and `leakage_report` is the check
tests and `rarft data` run on the finished splits.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from shared.contract import Demonstration
from shared.errors import UserError
from shared.text import problem_hash


def dedupe(rows: Sequence[Demonstration]) -> tuple[list[Demonstration], int]:
    """Keep the first row of each normalised problem; returns (kept rows, number dropped)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        h = problem_hash(row.problem)
        if h not in seen:
            seen.add(h)
            kept.append(row)
    return kept, len(rows) - len(kept)


def leakage_report(splits: Mapping[str, Sequence[Demonstration]]) -> dict[str, int]:
    """Problems shared between every pair of splits, plus duplicate ids and duplicates within a split."""
    hashes = {name: [problem_hash(r.problem) for r in rows] for name, rows in splits.items()}
    report: dict[str, int] = {}
    names = list(splits)
    for i, a in enumerate(names):
        report[f"within/{a}"] = len(hashes[a]) - len(set(hashes[a]))
        for b in names[i + 1:]:
            report[f"shared/{a}-{b}"] = len(set(hashes[a]) & set(hashes[b]))
    ids = [r.id for rows in splits.values() for r in rows]
    report["duplicate_ids"] = len(ids) - len(set(ids))
    return report


def exact_copies(splits: Mapping[str, Sequence[Demonstration]], held_out: Sequence[str]) -> dict[str, int]:
    """Rows of each held-out split whose normalised worked solution, or (strategy, parameters), occurs in another
    split: a problem whose gold solution the bank or training holds word for word, whatever its wording."""
    def keys(row: Demonstration) -> set[str]:
        found = {"solution:" + problem_hash(row.solution)} if row.solution else set()
        if row.strategy and row.metadata.get("params"):
            found.add(f"params:{row.strategy}:{sorted(row.metadata['params'].items())}")
        return found

    others = {b: set().union(*map(keys, rows)) for b, rows in splits.items() if b not in held_out}
    return {f"{a}-{b}": sum(bool(keys(r) & found) for r in splits.get(a, [])) for a in held_out
            for b, found in others.items()}


def check_no_leakage(splits: Mapping[str, Sequence[Demonstration]]) -> None:
    """Raise when any split shares a problem with another (or repeats one, or reuses an id)."""
    bad = {k: v for k, v in leakage_report(splits).items() if v}
    if bad:
        raise UserError(f"leakage between splits: {bad}")


def split_rows(rows: Sequence[Demonstration], sizes: Mapping[str, int], seed: int) -> tuple[dict[str, list[Demonstration]], int]:
    """Shuffle deduplicated rows into named splits of the given sizes (the last size may be -1 = the rest).

    Returns (splits, duplicates dropped). Ids are kept when unique, else made unique with the split prefix.
    """
    kept, dropped = dedupe(rows)
    order = list(kept)
    random.Random(seed).shuffle(order)
    wanted = sum(n for n in sizes.values() if n >= 0)
    if wanted > len(order):
        raise UserError(f"asked for {wanted} rows in splits {dict(sizes)} but only {len(order)} distinct problems exist")
    out: dict[str, list[Demonstration]] = {}
    start = 0
    for name, n in sizes.items():
        end = len(order) if n < 0 else start + n
        out[name] = order[start:end]
        start = end
    if len({r.id for r in kept}) != len(kept):
        out = {name: [r.model_copy(update={"id": f"{name}-{i:05d}"}) for i, r in enumerate(part)] for name, part in out.items()}
    check_no_leakage(out)
    return out, dropped
