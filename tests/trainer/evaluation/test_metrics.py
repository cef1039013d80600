"""avg@k and the unbiased pass@k estimator against brute-force enumeration."""

import itertools
import math

import pytest

from trainer.evaluation.metrics import average_at_k, mean_and_spread, pass_at_k, summarize


def brute_pass_at_k(n: int, c: int, k: int) -> float:
    samples = [True] * c + [False] * (n - c)
    draws = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in d) for d in draws) / len(draws)


@pytest.mark.parametrize("n,c,k", [(1, 0, 1), (1, 1, 1), (5, 2, 1), (5, 2, 3), (6, 1, 4), (8, 0, 2), (8, 8, 8), (7, 3, 5)])
def test_pass_at_k_matches_enumeration(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k))


def test_pass_at_k_equals_closed_form_and_pass1_is_mean():
    assert pass_at_k(32, 5, 4) == pytest.approx(1 - math.comb(27, 4) / math.comb(32, 4))
    assert pass_at_k(32, 5, 1) == pytest.approx(5 / 32)


def test_pass_at_k_rejects_bad_arguments():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_average_and_summary_per_strategy():
    assert average_at_k([True, False, False, True]) == 0.5
    records = [
        {"correct": [True, True, False, False], "strategy": "a"},
        {"correct": [False, False, False, False], "strategy": "a"},
        {"correct": [True, True, True, True], "strategy": "b"},
    ]
    s = summarize(records, [1, 2])
    assert s["overall"]["avg@4"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert s["overall"]["pass@2"] == pytest.approx((pass_at_k(4, 2, 2) + 0 + 1) / 3)
    assert s["per_strategy"]["a"]["avg@4"] == pytest.approx(0.25)
    assert s["per_strategy"]["b"]["num_problems"] == 1
    assert s["per_wording"] == {}  # no record carries a wording
    worded = summarize([{**r, "wording": w} for r, w in zip(records, ("familiar", "unseen", "unseen"))], [1])
    assert worded["per_wording"]["unseen"]["avg@4"] == pytest.approx(0.5)
    assert worded["per_wording"]["familiar"]["num_problems"] == 1
    with pytest.raises(ValueError):
        summarize([{"correct": [True]}, {"correct": [True, False]}], [1])


def test_mean_and_spread():
    m = mean_and_spread([0.2, 0.4, 0.6])
    assert m["mean"] == pytest.approx(0.4) and m["std"] == pytest.approx(0.2) and m["n"] == 3
    assert mean_and_spread([0.3])["std"] == 0.0
