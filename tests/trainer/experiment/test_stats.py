"""The paired hierarchical bootstrap, Holm's correction and the CI-based verdict."""

import numpy as np
import pytest

from trainer.experiment.stats import hierarchical_bootstrap, holm, paired_differences, verdict_sentence

CLUSTERS = [f"t{i % 45}" for i in range(300)]


def test_a_real_effect_is_found_and_a_null_is_not():
    rng = np.random.default_rng(0)
    effect = hierarchical_bootstrap(0.1 + rng.normal(0, 0.3, (3, 300)), CLUSTERS, seed=1)
    assert effect.ci_low > 0 and effect.ci_low < 0.1 < effect.ci_high and effect.p_one_sided < 0.01
    assert effect.n_seeds == 3 and effect.n_clusters == 45 and len(effect.per_seed) == 3
    null = hierarchical_bootstrap(rng.normal(0, 0.3, (3, 300)), CLUSTERS, seed=1)
    assert null.ci_low < 0 < null.ci_high and null.p_one_sided > 0.05


def test_template_effects_widen_the_interval():
    """Problems of one template move together; counting them as independent would understate the error."""
    rng = np.random.default_rng(0)
    offsets = rng.normal(0, 0.3, 45)
    D = offsets[[i % 45 for i in range(300)]][None, :] + rng.normal(0, 0.1, (3, 300))
    clustered = hierarchical_bootstrap(D, CLUSTERS)
    independent = hierarchical_bootstrap(D, [str(i) for i in range(300)])
    assert clustered.ci_high - clustered.ci_low > 1.5 * (independent.ci_high - independent.ci_low)


def test_seed_level_and_determinism():
    rng = np.random.default_rng(0)
    one = hierarchical_bootstrap(rng.normal(0.05, 0.2, (1, 300)), CLUSTERS, n_resamples=2000, seed=3)
    assert one.n_seeds == 1 and one.per_seed == [pytest.approx(one.estimate)]
    D = rng.normal(0.05, 0.2, (3, 300))
    assert hierarchical_bootstrap(D, CLUSTERS, seed=3) == hierarchical_bootstrap(D, CLUSTERS, seed=3)
    # seeds that disagree widen the interval against seeds that agree
    spread = D + np.array([[-0.1], [0.0], [0.1]])
    assert (hierarchical_bootstrap(spread, CLUSTERS).se > 1.5 * hierarchical_bootstrap(D, CLUSTERS).se)


def test_paired_differences_and_their_errors():
    a = {"0": {"p1": 1.0, "p2": 0.5}, "1": {"p1": 0.5, "p2": 0.5}}
    b = {"0": {"p1": 0.5, "p2": 0.5}, "1": {"p1": 0.5, "p2": 0.0}}
    D, ids = paired_differences(a, b)
    assert ids == ["p1", "p2"] and D.tolist() == [[0.5, 0.0], [0.0, 0.5]]
    with pytest.raises(ValueError, match="no seed"):
        paired_differences(a, {"7": b["0"]})
    with pytest.raises(ValueError, match="different problems"):
        paired_differences(a, {"0": {"p1": 0.5}, "1": b["1"]})


def test_holm_matches_a_hand_computed_example():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_verdict_comes_from_the_interval():
    class R:
        confidence = 0.95

    win, null, loss = R(), R(), R()
    win.estimate, win.ci_low, win.ci_high = 0.05, 0.01, 0.09
    null.estimate, null.ci_low, null.ci_high = 0.05, -0.01, 0.11  # a positive point estimate is not a win
    loss.estimate, loss.ci_low, loss.ci_high = -0.05, -0.09, -0.01
    assert verdict_sentence("A", "B", win) == "A beats B by 5.0 points (95% CI 1.0 to 9.0)"
    assert verdict_sentence("A", "B", null).startswith("no evidence of a difference between A and B (95% CI -1.0 to 11.0")
    assert verdict_sentence("A", "B", loss).startswith("A is worse than B by 5.0 points")
    assert "does not survive" in verdict_sentence("A", "B", win, adjusted_p=0.08)
