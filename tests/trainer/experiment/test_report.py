"""report.md and figures from a results dict: every number shown is the one in results.json."""

import json
import random
import re

import pytest

from trainer.experiment.comparisons import planned_comparisons, run_comparisons
from trainer.experiment.presets import PRESETS, check_command_args, get_preset, to_flags
from shared.errors import UserError
from trainer.experiment.report import render_report, verdict, write_report_dir
from trainer.experiment.results import build_table, retriever_rows
from trainer.experiment.schema import Results

PROBLEMS = [f"test-{i:05d}" for i in range(90)]
CLUSTERS = {p: f"s{i % 15}/t{i % 45}" for i, p in enumerate(PROBLEMS)}  # 45 template clusters of 2


def per_problem(mean: float, seed: int) -> dict[str, float]:
    """avg@4 per problem around `mean`: quarter steps, like 4 samples give."""
    rng = random.Random(seed)
    return {p: min(1.0, max(0.0, round(4 * (mean + rng.uniform(-0.25, 0.25))) / 4)) for p in PROBLEMS}


def make_results(seeds=(0, 1, 2), ra_rft=(0.50, 0.55, 0.60), grpo=(0.30, 0.32, 0.31), n_resamples=2000):
    def m(avg, seed):
        pp = per_problem(avg, seed)
        mean = sum(pp.values()) / len(pp)
        return {"metrics": {"avg@4": mean, "pass@4": min(1.0, mean + 0.2), "demo_strategy_match": 0.75},
                "per_wording": {"unseen": {"avg@4": mean, "num_problems": len(pp)}}, "per_problem": pp}

    evals = {
        "base": {str(seeds[0]): {"none": m(0.25, 100), "v1": m(0.28, 101)}},
        "grpo": {str(s): {"none": m(grpo[i], 10 + s), "v1": m(grpo[i] + 0.05, 20 + s)} for i, s in enumerate(seeds)},
        "ra-rft": {str(s): {"v0": m(ra_rft[i] - 0.1, 30 + s), "v1": m(ra_rft[i], 40 + s)} for i, s in enumerate(seeds)},
    }
    arms = ["grpo", "ra-rft"]
    table = build_table(evals)
    preset = get_preset("tiny", {"seeds": list(seeds)})
    retrievers = {"v0": {"strategy_match@4": 0.1, "strategy_match@4/unseen": 0.05, "distinct_strategies@4": 3.2},
                  "v1": {"strategy_match@4": 0.85, "strategy_match@4/unseen": 0.6, "distinct_strategies@4": 1.4}}
    return Results.model_validate({
        "preset": "test", "config": preset.model_dump(), "run_dir": "/tmp/x",
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:10:00Z", "wall_time_s": 600.0,
        "evals": evals, "table": table, "primary_metric": "avg@4",
        "design": [{"name": c.name, "kind": c.kind, "question": c.question, "arm": list(c.arm), "baseline": list(c.baseline)}
                   for c in planned_comparisons(arms)],
        "statistic": {"kind": "paired bootstrap", "n_resamples": n_resamples, "confidence": 0.95},
        "comparisons": run_comparisons(evals, arms, CLUSTERS, n_resamples=n_resamples),
        "retrievers": retrievers, "retriever_rows": retriever_rows(retrievers, 4),
        "train": {"grpo": {str(s): {"reward_curve": [{"step": 1, "reward": 0.2}, {"step": 2, "reward": 0.3}],
                                    "final_reward": 0.3, "mean_reward": 0.25, "global_step": 2} for s in seeds}},
        "stages": {"data": {"elapsed_s": 3.0, "skipped": False}, "policy": {"elapsed_s": 40.0, "skipped": True}},
    })


def test_design_is_fixed_by_the_arms():
    names = [(c.name, c.kind, c.arm, c.baseline) for c in planned_comparisons(["grpo", "ra-rft"])]
    assert names[:3] == [("primary", "primary", ("ra-rft", "v1"), ("grpo", "none")),
                         ("rl_stage", "secondary", ("ra-rft", "v1"), ("grpo", "v1")),
                         ("reasoning_aware", "secondary", ("ra-rft", "v1"), ("ra-rft", "v0"))]
    with_semantic = planned_comparisons(["grpo", "semantic", "ra-rft"])
    assert with_semantic[2].baseline == ("semantic", "v0")


def test_clear_gain_is_reported_from_the_ci_with_every_seed():
    results = make_results()
    primary = results.comparison("primary")
    arm_means = [results.evals["ra-rft"][s]["v1"]["metrics"]["avg@4"] for s in ("0", "1", "2")]
    base_means = [results.evals["grpo"][s]["none"]["metrics"]["avg@4"] for s in ("0", "1", "2")]
    assert primary.per_seed == pytest.approx([a - b for a, b in zip(arm_means, base_means)])
    assert primary.estimate == pytest.approx(sum(arm_means) / 3 - sum(base_means) / 3)
    assert 0 < primary.ci_low < primary.estimate < primary.ci_high
    assert results.comparison("rl_stage").p_holm is not None and results.comparison("reasoning_aware").p_holm is not None
    assert primary.p_holm is None
    assert results.comparison("rl_moved_grpo").kind == "descriptive"
    text = render_report(results)
    assert f"RA-RFT (distilled v1) beats GRPO (no retrieval) by {100 * primary.estimate:.1f} points" in text
    assert f"{100 * primary.ci_low:.1f} to {100 * primary.ci_high:.1f}" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("| primary |"))
    for value in primary.per_seed:
        assert f"{100 * value:+.1f}" in line
    assert "fixed before the numbers" in text.split("## Verdict")[0]
    assert "| strategy-match@4 | 0.100 | 0.850 |" in text
    assert "reused from an earlier run" in text


def test_null_and_negative_results_are_stated_as_such():
    null = make_results(ra_rft=(0.31, 0.30, 0.32), grpo=(0.31, 0.30, 0.32))
    primary = null.comparison("primary")
    assert primary.ci_low < 0 < primary.ci_high
    assert any("no evidence of a difference" in line for line in verdict(null))
    worse = make_results(ra_rft=(0.10, 0.12, 0.11), grpo=(0.40, 0.42, 0.41))
    assert any("worse than" in line for line in verdict(worse))
    one = make_results(seeds=(0,), ra_rft=(0.5,), grpo=(0.3,))
    assert any("One seed only" in line for line in verdict(one))


def test_gain_only_at_inference_is_named():
    # RA-RFT beats GRPO without demonstrations, but GRPO given v1 at test does as well: the gain is retrieval's
    results = make_results(ra_rft=(0.50, 0.52, 0.51), grpo=(0.30, 0.31, 0.30))
    for s in ("0", "1", "2"):
        results.evals["grpo"][s]["v1"] = results.evals["ra-rft"][s]["v1"]
    results.comparisons = Results.model_validate(
        {**results.model_dump(), "comparisons": run_comparisons(results.evals, ["grpo", "ra-rft"], CLUSTERS, n_resamples=2000)}
    ).comparisons
    assert any("The gain is retrieval at inference, not RFT" in line for line in verdict(results))


def test_training_table_gives_seconds_per_step_and_the_step_cost_of_retrieval():
    results = make_results()
    results.train["grpo"]["0"]["step_seconds"] = 0.5
    results.train["ra-rft"] = {"0": {"global_step": 2, "step_seconds": 1.1}, "1": {"global_step": 2, "step_seconds": 1.2}}
    report = render_report(results)
    assert "| GRPO | 0 | 2 | 0.50 |" in report and "| GRPO | 1 | 2 | n/a |" in report
    # paired by seed: seed 1 has no GRPO time, so only seed 0's ratio counts
    assert "RA-RFT's step costs 2.20x GRPO's (seconds per step, mean over seeds; per seed: 2.20x)." in report


def test_write_report_dir_agrees_with_results_json(tmp_path):
    results = make_results()
    write_report_dir(tmp_path, results)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert sorted(on_disk["figures"]) == ["accuracy.png", "forest.png", "retrievers.png", "reward_curves.png"]
    for name in on_disk["figures"]:
        assert (tmp_path / "figures" / name).stat().st_size > 1000
    report = (tmp_path / "report.md").read_text()
    for row in on_disk["table"]:
        assert f"{100 * row['metrics']['avg@4']['mean']:.1f}" in report
    for c in on_disk["comparisons"]:
        assert f"{100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f}" in report
    assert Results.model_validate(on_disk) == results  # results.json reads back as the same typed results
    assert [r.label for r in retriever_rows(on_disk["retrievers"], 4)] == [
        "strategy-match@4", "strategy-match@4 on unseen wordings (no bank row phrased alike)", "distinct strategies in the top-4"]
    assert re.search(r"!\[forest.png\]\(figures/forest.png\)", report)


def test_presets_and_flags():
    assert to_flags({"max_steps": 3, "use_x": True, "feedback": False, "tags": ["a", "b"], "skip": None}) == [
        "--max-steps", "3", "--use-x", "--no-feedback", "--tags", "a", "b"]
    p = get_preset("quick", {"train_args": {"max_steps": 1}})
    assert p.train_args["max_steps"] == 1 and len(p.seeds) >= 3
    assert len(get_preset("full").seeds) >= 3
    with pytest.raises(Exception):
        get_preset("quick", {"nope": 1})
    with pytest.raises(Exception, match="primary"):
        get_preset("quick", {"arms": ["grpo", "semantic"]})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_flag_is_an_option_of_its_command(name):
    check_command_args(PRESETS[name])


@pytest.mark.parametrize("override, message", [
    ({"eval_args": {"budgett_tokens": 5}}, "eval_args: budgett_tokens: `rarft eval` has no option --budgett-tokens"),
    ({"eval_args": {"k": "eight"}}, "eval_args: k='eight'"),
    ({"train_args": {"max_stepz": 3}}, "`rarft train` has no option --max-stepz"),
    ({"build_args": {"index_type": "annoy"}}, "build_args: index_type='annoy'"),
])
def test_a_preset_typo_is_caught_before_any_stage(override, message):
    with pytest.raises(UserError, match=re.escape(message)):
        check_command_args(get_preset("tiny", override))


def test_reward_curve_running_mean_is_trailing_and_short_at_the_start():
    from trainer.experiment.figures import _running_mean

    assert _running_mean([0.0, 1.0, 0.0, 1.0, 1.0], 2) == pytest.approx([0.0, 0.5, 0.5, 0.5, 1.0])
    assert _running_mean([0.25, 0.75], 8) == pytest.approx([0.25, 0.5])
