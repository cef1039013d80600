"""Question templates of the analogy benchmark: block sizes, wording labels, rendering, no duplicates."""

from __future__ import annotations

import random
import re

import pytest

from trainer.data.arith import check_solution, render_steps
from trainer.data.benchmark import _UNIT_TEMPLATE, render, sample_vocab
from trainer.data.strategies import STRATEGIES, STRATEGY_BY_NAME, WORDINGS
from trainer.data.themes import THEMES

SEEDS = range(12)


def _all_templates(strat):
    return strat.templates + strat.unseen + strat.rl_only


def _params_for(strat, index: int, rng: random.Random):
    """Params for template `index`; a unit_conversion template needs the factor its unit names."""
    params = strat.sample(rng)
    if strat.name == "unit_conversion":
        block_start = max(start for start in (0, len(strat.templates), len(strat.templates) + len(strat.unseen))
                          if start <= index)
        while _UNIT_TEMPLATE[params["f"]] != (index - block_start) % 3:
            params = strat.sample(rng)
    return params


def test_every_strategy_has_its_test_and_rl_wordings():
    for strat in STRATEGIES:
        assert len(strat.unseen) >= 3, strat.name
        assert len(strat.rl_only) >= 1, strat.name
    unit = STRATEGY_BY_NAME["unit_conversion"]  # one template per factor in every block, ordered 12, 7, 24
    assert len(unit.templates) % 3 == len(unit.unseen) % 3 == len(unit.rl_only) % 3 == 0
    for block in (unit.templates, unit.unseen, unit.rl_only):
        for i, template in enumerate(block):
            assert ("dozen" in template) == (i % 3 == _UNIT_TEMPLATE[12]), template
            assert ("weeks" in template) == (i % 3 == _UNIT_TEMPLATE[7]), template
            assert ("hours" in template) == (i % 3 == _UNIT_TEMPLATE[24]), template


def test_wording_labels_each_block():
    assert WORDINGS == ("familiar", "novel", "unseen", "rl")
    for strat in STRATEGIES:
        shared, unseen = len(strat.templates), len(strat.unseen)
        labels = [strat.wording(i) for i in range(len(_all_templates(strat)))]
        assert set(labels) <= set(WORDINGS)
        assert labels == (["familiar"] * (shared // 2) + ["novel"] * (shared - shared // 2)
                          + ["unseen"] * unseen + ["rl"] * len(strat.rl_only)), strat.name
        for i, template in enumerate(_all_templates(strat)):
            assert strat.template(i) == template
        with pytest.raises(IndexError):
            strat.template(len(_all_templates(strat)))


@pytest.mark.parametrize("strat", STRATEGIES, ids=lambda s: s.name)
def test_every_template_renders_in_every_theme(strat):
    """No unknown placeholder, no leftover brace, and the rendered question holds every number the steps use."""
    for index in range(len(_all_templates(strat))):
        for theme in THEMES:
            for seed in SEEDS:
                rng = random.Random(seed)
                params = _params_for(strat, index, rng)
                text = render(strat.template(index), params, sample_vocab(theme, rng), with_scene=False)
                assert not re.search(r"[{}]", text), text
                assert len(text.split()) <= 45, text
                solution, answer = render_steps(list(strat.steps), params, plan=strat.plan)
                assert check_solution(text, solution, str(answer)) == [], (text, solution)


def test_no_two_templates_are_the_same():
    everything = [t for strat in STRATEGIES for t in _all_templates(strat)]
    assert len(everything) == len(set(everything))
    normalised = [re.sub(r"\W+", " ", t.lower()).strip() for t in everything]
    assert len(normalised) == len(set(normalised))
