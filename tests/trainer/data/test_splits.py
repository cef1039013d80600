"""Leakage-safe splits: no problem (normalised text) in two splits, duplicates collapsed and counted."""

from __future__ import annotations

import pytest

from shared.contract import Demonstration
from shared.errors import UserError
from shared.text import problem_hash
from trainer.data.benchmark import generate_benchmark
from shared.rows import read_rows
from trainer.data.splits import check_no_leakage, dedupe, leakage_report, split_rows


def _demo(i: int, problem: str) -> Demonstration:
    return Demonstration(id=f"r{i}", problem=problem, solution="1 + 1 = 2", answer="2")


def test_generated_splits_share_no_problem(tiny_data):
    splits = {name: read_rows(tiny_data / f"{name}.jsonl") for name in ("bank", "train", "rl", "dev", "test")}
    hashes = {name: {problem_hash(r.problem) for r in rows} for name, rows in splits.items()}
    names = list(hashes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not hashes[a] & hashes[b], (a, b)
    assert sum(map(len, hashes.values())) == sum(map(len, splits.values()))  # no repeat within a split either
    check_no_leakage(splits)


def test_generator_never_repeats_a_problem_at_default_sizes():
    splits = generate_benchmark(0, {"bank": 2000, "train": 2000, "rl": 600, "dev": 300, "test": 500})
    assert all(v == 0 for v in leakage_report(splits).values())


def test_leak_is_detected_even_after_case_and_space_changes():
    splits = {"bank": [_demo(1, "How many  apples?")], "test": [_demo(2, "how many apples?")]}
    assert leakage_report(splits)["shared/bank-test"] == 1
    with pytest.raises(UserError, match="leakage"):
        check_no_leakage(splits)


def test_split_rows_dedupes_and_counts():
    rows = [_demo(i, f"Problem number {i % 30}") for i in range(40)]  # 10 duplicates
    kept, dropped = dedupe(rows)
    assert (len(kept), dropped) == (30, 10)
    splits, dropped = split_rows(rows, {"bank": 15, "train": 10, "test": 5}, seed=0)
    assert dropped == 10 and [len(v) for v in splits.values()] == [15, 10, 5]
    check_no_leakage(splits)
    again, _ = split_rows(rows, {"bank": 15, "train": 10, "test": 5}, seed=0)
    assert [r.id for r in again["test"]] == [r.id for r in splits["test"]]  # deterministic
    with pytest.raises(UserError, match="only 30 distinct"):
        split_rows(rows, {"bank": 25, "train": 10, "test": 5}, seed=0)
