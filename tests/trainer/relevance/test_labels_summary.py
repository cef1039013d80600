"""Summary statistics and the separation verdict of a label set."""

from __future__ import annotations

import random

from trainer.relevance.labels import separation_verdict, summarize_labels


def _rows(gap: float, n_queries: int = 40, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for q in range(n_queries):
        for c in range(8):
            same = c < 2
            rows.append({"query_id": f"q{q}", "candidate_id": f"d{c}", "baseline": -1.0, "same_strategy": same,
                         "source": "semantic" if c % 2 else "random",
                         "benefit": (gap if same else 0.0) + rng.gauss(0, 0.1)})
    return rows


def test_separated_labels_pass():
    stats = summarize_labels(_rows(gap=0.3))
    ok, line = separation_verdict(stats)
    assert ok and "same-strategy" in line
    assert stats["benefit/same_strategy/mean"] > stats["benefit/other_strategy/mean"]
    assert stats["benefit/pairwise_same_beats_other"] > 0.9
    assert stats["labels/queries"] == 40 and stats["pools/with_same_strategy"] == 1.0


def test_unseparated_labels_are_flagged():
    ok, _ = separation_verdict(summarize_labels(_rows(gap=0.0)))
    assert not ok


def test_without_strategies_no_verdict():
    rows = [{**r, "same_strategy": None} for r in _rows(0.3)]
    ok, line = separation_verdict(summarize_labels(rows))
    assert ok is None and "name no strategy" in line and "skipped" in line


def test_without_same_strategy_candidates_cannot_be_checked():
    rows = [{**r, "same_strategy": False} for r in _rows(0.3)]
    ok, line = separation_verdict(summarize_labels(rows))
    assert ok is False and "cannot be checked" in line
