"""The analogy benchmark: deterministic, balanced, verified, with surface twins of different strategies."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from trainer.data.arith import check_solution, eval_expression
from trainer.data.benchmark import generate_benchmark
from trainer.data.build import cramers_v
from shared.rows import read_rows
from trainer.data.strategies import STRATEGIES, STRATEGY_BY_NAME
from trainer.data.twins import TWIN_PAIRS
from trainer.data.themes import THEMES
from trainer.prompting import format_completion
from trainer.verify import is_correct


@pytest.fixture(scope="module")
def mid():
    """Big enough for balance statistics (1,800 bank rows = 10 full rounds of the crossing), still < 1 s."""
    return generate_benchmark(seed=7, sizes={"bank": 1800, "train": 400, "rl": 150, "dev": 100, "test": 200})


def _all(splits):
    return [r for rows in splits.values() for r in rows]


SMALL = {"bank": 200, "train": 100, "rl": 40, "dev": 30, "test": 50}


def test_deterministic_from_seed():
    a = generate_benchmark(3, SMALL)
    b = generate_benchmark(3, SMALL)
    c = generate_benchmark(4, SMALL)
    assert [r.model_dump() for r in _all(a)] == [r.model_dump() for r in _all(b)]
    assert [r.problem for r in _all(a)] != [r.problem for r in _all(c)]
    assert {k: len(v) for k, v in a.items()} == SMALL
    with pytest.raises(ValueError, match="missing"):
        generate_benchmark(3, {"bank": 10, "train": 10, "test": 10})


def test_at_least_twelve_strategies_and_themes(mid):
    assert len(STRATEGIES) >= 12 and len(THEMES) >= 12
    for rows in mid.values():
        assert {r.strategy for r in rows} == {s.name for s in STRATEGIES}
        assert {r.theme for r in rows} == {t.name for t in THEMES}


def test_theme_and_strategy_are_independent(mid):
    from scipy.stats import chi2_contingency

    bank = mid["bank"]
    counts = Counter((r.theme, r.strategy) for r in bank)
    # whole rounds of the crossing: every (theme, strategy) cell holds exactly bank_size / cells rows
    assert set(counts.values()) == {1800 // (len(THEMES) * len(STRATEGIES))}
    chi2, v = cramers_v(bank)
    assert chi2 == pytest.approx(0.0) and v == pytest.approx(0.0)
    for name in ("train", "rl", "dev", "test"):  # partial rounds: near-equal marginals, no detectable association
        rows = mid[name]
        table = [[sum(1 for r in rows if r.theme == t.name and r.strategy == s.name) for s in STRATEGIES] for t in THEMES]
        assert chi2_contingency(table)[1] > 0.05
        per_strategy = Counter(r.strategy for r in rows).values()
        assert max(per_strategy) - min(per_strategy) <= 1


def test_every_solution_is_verified(tiny_data):
    for split in ("bank", "train", "rl", "dev", "test"):
        for row in read_rows(tiny_data / f"{split}.jsonl"):
            assert check_solution(row.problem, row.solution, row.answer) == [], row
            assert is_correct(format_completion(row.solution, row.answer), row.answer), row
            assert format_completion(row.solution, row.answer) == row.solution  # it boxes its own last step


def test_rows_are_short_and_rigid(mid):
    """Small numbers, short problems, a plan line, 2-4 steps, and one step shape per strategy (operators per step)."""
    shapes, plans = defaultdict(set), defaultdict(set)
    for r in _all(mid):
        assert len(r.problem.split()) <= 45, r.problem
        assert 0 <= int(r.answer) < 1000
        plan, *steps, _ = r.solution.splitlines()  # the plan line opens; the last line boxes the last step
        assert plan == f"Plan: {STRATEGY_BY_NAME[r.strategy].plan}." and not re.search(r"\d", plan)
        plans[r.strategy].add(plan)
        assert 2 <= len(steps) <= 4
        assert all(len(s) <= 60 for s in steps), steps
        shapes[r.strategy].add(tuple(re.sub(r"\d+", "N", s) for s in steps))
        assert r.id and r.problem and r.solution and r.strategy and r.theme
    assert all(len(v) == 1 for v in shapes.values()), {k: v for k, v in shapes.items() if len(v) > 1}
    assert len(set().union(*shapes.values())) == len(STRATEGIES)  # no two strategies share a procedure
    assert len(set().union(*plans.values())) == len(STRATEGIES)  # one plan per strategy, none shared


def test_surface_twins_read_alike_but_differ_in_strategy(mid):
    rows = {r.id: r for r in _all(mid)}
    twins = [r for r in rows.values() if "twin_of" in r.metadata]
    assert len(twins) >= 50
    pairs = {frozenset((r.strategy, rows[r.metadata["twin_of"]].strategy)) for r in twins}
    assert pairs <= {frozenset((p.first, p.second)) for p in TWIN_PAIRS} and len(pairs) == len(TWIN_PAIRS)
    for r in twins:
        other = rows[r.metadata["twin_of"]]
        assert other.metadata["twin_of"] == r.id and other.theme == r.theme and other.strategy != r.strategy
        assert other.id.startswith("bank-") or r.id.startswith("bank-")  # a twin of every query sits in the bank
        a, b = set(r.problem.lower().split()), set(other.problem.lower().split())
        assert len(a & b) / len(a | b) >= 0.4, (r.problem, other.problem)  # same scene, other question
    assert all(r.id.startswith(("train-", "bank-")) for r in twins)  # twins are familiar wordings: never rl, dev or test
    # a twin must not hand over the answer: its partner's problem rarely contains the answer (only by chance)
    leaks = sum(r.answer in re.findall(r"\d+", rows[r.metadata["twin_of"]].problem) for r in twins)
    assert leaks / len(twins) < 0.12  # numbers are below 100, so a chance match is common (0.103 at seed 7)


def test_step_evaluator_is_exact():
    assert eval_expression("\\gcd(12, 18)") == 6 and eval_expression("(3 + 5) * 4 / 2") == 16
    assert eval_expression("17 - \\lfloor 17 / 5 \\rfloor * 5") == 2
    with pytest.raises(ValueError):
        eval_expression("7 / 2")
    with pytest.raises(ValueError):
        eval_expression("__import__('os')")
    good = "3 * 4\n3 * 4 - 2\nAnswer: \\boxed{3 * 4 - 2}"
    assert check_solution("3 boxes of 4, 2 eaten", good, "10") == []
    assert check_solution("3 boxes of 4, 2 eaten", "Plan: total in the groups, minus what was removed.\n" + good, "10") == []
    assert check_solution("3 boxes of 4, 2 eaten", good, "11")  # the boxed step is not the answer
    assert check_solution("3 boxes of 4, 2 eaten", "3 * 4\nAnswer: \\boxed{3 * 4 - 2}", "10")  # box is not the last step
    assert check_solution("3 boxes of 4", "9 * 4\nAnswer: \\boxed{9 * 4}", "36")  # number from nowhere
    assert check_solution("3 boxes of 4", "3 * 4", "12")  # no boxed answer line
    assert check_solution("3 boxes of 4", "3 * * 4\nAnswer: \\boxed{3 * * 4}", "12")  # not an expression


def test_every_step_is_math_verify_readable():
    """The boxed expression is what math-verify checks: LaTeX gcd and floor, and no `//` (math-verify misreads it)."""
    assert is_correct("Answer: \\boxed{44 - \\lfloor 44 / 7 \\rfloor * 7}", "2")
    assert is_correct("Answer: \\boxed{24 / \\gcd(24, 18) + 18 / \\gcd(24, 18)}", "7")
    assert not is_correct("Answer: \\boxed{24 / \\gcd(24, 18) + 18}", "7")


def test_tiny_data_layout(tiny_data):
    from shared.artifacts import verify_checksums
    from shared.manifests import DataManifest

    manifest = DataManifest.model_validate_json((tiny_data / "manifest.json").read_text())
    assert manifest.sizes == {"bank": 240, "train": 120, "rl": 60, "dev": 30, "test": 60}
    assert verify_checksums(tiny_data, manifest.files) == []
    assert len(manifest.strategies) >= 12 and len(manifest.themes) >= 12
    assert all(v == 0 for v in manifest.stats["leakage"].values())
    assert manifest.stats["exact_copies"] and all(v == 0 for v in manifest.stats["exact_copies"].values())


def test_surface_siblings_share_the_surface_not_the_strategy(mid):
    rows = {r.id: r for r in _all(mid)}
    queries = [r for r in rows.values() if r.metadata.get("siblings")]
    for split in ("test", "dev", "train", "rl"):
        assert any(r.id.startswith(f"{split}-") for r in queries), split
    for q in queries:
        decoys = [rows[x] for x in q.metadata["siblings"]]
        assert 1 <= len(decoys) <= 2
        strategies = {q.strategy, *(d.strategy for d in decoys)}
        assert len(strategies) == 1 + len(decoys)  # every sibling needs another procedure
        for d in decoys:
            assert d.id.startswith("bank-") and d.theme == q.theme and d.metadata["sibling_of"] == q.id
            assert d.metadata["surface"] == q.metadata["surface"]  # same people, items and place
            assert check_solution(d.problem, d.solution, d.answer) == []


def test_each_split_has_its_own_wordings(mid):
    """bank and train: familiar + novel templates (twins familiar); rl: only the RL-only templates; dev and test:
    only the unseen ones. So the warm start never reads an RL or a test wording, and no bank row shares one."""
    expected = {"bank": {"familiar", "novel"}, "train": {"familiar", "novel"}, "rl": {"rl"}, "dev": {"unseen"},
                "test": {"unseen"}}
    for name, rows in mid.items():
        marks = Counter(r.metadata["wording"] for r in rows)
        assert set(marks) == expected[name], (name, marks)
        if name in ("bank", "train"):
            assert marks["novel"] >= 0.2 * len(rows), (name, marks)
    for r in _all(mid):
        template = r.metadata["template"]
        strategy = STRATEGY_BY_NAME[r.strategy]
        if template == -1:
            assert r.metadata["wording"] == "familiar" and "twin_pair" in r.metadata
        else:
            assert r.metadata["wording"] == strategy.wording(template)
    # dev and test together use every strategy's unseen templates, at least 45 template clusters
    clusters = {(r.strategy, r.metadata["template"]) for r in mid["dev"] + mid["test"]}
    assert len(clusters) >= 45
    assert all(len(s.unseen) >= 3 and s.rl_only for s in STRATEGIES)


def test_no_dev_or_test_solution_is_anywhere_else(mid):
    """The gold solution of a dev or test problem is in no other split, word for word or by (strategy, params)."""
    from trainer.data.benchmark import held_out_solution
    from trainer.data.splits import exact_copies

    assert all(v == 0 for v in exact_copies(mid, ("dev", "test")).values())
    for name, rows in mid.items():
        assert all(held_out_solution(r.solution) == (name in ("dev", "test")) for r in rows), name
    # the check itself catches a copy
    planted = {**mid, "bank": [*mid["bank"], mid["test"][0].model_copy(update={"id": "bank-planted", "problem": "x"})]}
    assert exact_copies(planted, ("dev", "test"))["test-bank"] == 1


def test_more_rl_wordings_reword_only_the_rl_questions():
    """--rl-wordings 3: the RL rows are written from three RL-only templates per strategy, with the same ids,
    params, surfaces and solutions; every other split is the same file as with one wording."""
    from trainer.data.benchmark import max_rl_wordings

    sizes = {**SMALL, "rl": 300}
    one, three = generate_benchmark(5, sizes), generate_benchmark(5, sizes, rl_wordings=3)
    for split in ("bank", "train", "dev", "test"):
        assert [r.model_dump() for r in one[split]] == [r.model_dump() for r in three[split]], split
    reworded = 0
    for a, b in zip(one["rl"], three["rl"]):
        assert (a.id, a.solution, a.answer, a.metadata["params"]) == (b.id, b.solution, b.answer, b.metadata["params"])
        assert b.metadata["wording"] == "rl" and STRATEGY_BY_NAME[b.strategy].wording(b.metadata["template"]) == "rl"
        assert check_solution(b.problem, b.solution, b.answer) == []
        reworded += a.problem != b.problem
    assert reworded > len(one["rl"]) // 3  # two of three wordings are new
    templates = defaultdict(set)
    for r in three["rl"]:
        templates[r.strategy].add(r.metadata["template"] if r.strategy != "unit_conversion" else r.metadata["template"] // 3)
    assert all(len(t) >= 2 for t in templates.values()) and max(map(len, templates.values())) == 3
    elsewhere = {r.problem for split in ("bank", "train", "dev", "test") for r in three[split]}
    assert not {r.problem for r in three["rl"]} & elsewhere
    assert max_rl_wordings() == 3
    with pytest.raises(ValueError, match="rl_wordings must be 1..3"):
        generate_benchmark(5, sizes, rl_wordings=4)
