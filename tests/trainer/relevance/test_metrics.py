"""Retrieval metrics: hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainer.relevance import metrics as M


def test_strategy_match():
    assert M.strategy_match_at_k("a", ["a", "b", "a", "c", "a"], 4) == 0.5
    assert M.strategy_match_at_k(None, ["a"], 4) is None


def test_ndcg_perfect_worst_and_hand_computed():
    benefits = [0.3, -0.1, 0.5, 0.0]
    assert M.ndcg_at_k(benefits, benefits, 2) == pytest.approx(1.0)
    assert M.ndcg_at_k([-b for b in benefits], benefits, 1) == pytest.approx(0.0)  # picks the least helpful
    # gains = b - min = [0.4, 0, 0.6, 0.1]; ranking by scores [1, 2, 3, 4] -> order 3, 2, ...
    got = M.ndcg_at_k([1, 2, 3, 4], benefits, 2)
    expected = (0.1 / 1 + 0.6 / math.log2(3)) / (0.6 / 1 + 0.4 / math.log2(3))
    assert got == pytest.approx(expected)
    assert M.ndcg_at_k([1, 2], [0.2, 0.2], 2) == 1.0
    # tied scores share their gain (no arbitrary order among ties): top-1 of four ties earns the mean gain
    assert M.ndcg_at_k([1, 1, 1, 1], benefits, 1) == pytest.approx((0.4 + 0 + 0.6 + 0.1) / 4 / 0.6)
    assert M.ndcg_at_k([5.0], [0.3], 4) == 1.0


def test_diversity():
    e = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert M.mean_pairwise_distance(e) == pytest.approx((1 + 0 + 1) / 3)
    assert M.mean_pairwise_distance(e[:1]) == 0.0
    assert M.distinct(["a", "b", "a", None]) == 2
    assert math.isnan(M.mean([]))
