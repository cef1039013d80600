"""report.md and figures from a results dict: every number shown is the one in results.json."""

import json
import re

import pytest

from trainer.experiment.presets import get_preset, to_flags
from trainer.experiment.report import render_report, retriever_rows, verdict, write_report_dir
from trainer.experiment.results import build_table, compare


def make_results(seeds=(0, 1, 2), ra_rft=(0.50, 0.55, 0.60), grpo=(0.30, 0.32, 0.31)):
    def m(avg, p1):
        return {"metrics": {"avg@4": avg, "pass@1": p1, "pass@4": min(1.0, avg + 0.2), "demo_strategy_match": 0.75},
                "per_wording": {"familiar": {"avg@4": avg + 0.1, "num_problems": 3},
                                "unseen": {"avg@4": avg - 0.2, "num_problems": 2}}}

    evals = {
        "grpo": {str(s): {"none": m(grpo[i], grpo[i]), "v1": m(grpo[i] + 0.05, grpo[i] + 0.05)} for i, s in enumerate(seeds)},
        "ra-rft": {str(s): {"none": m(ra_rft[i] - 0.1, ra_rft[i] - 0.1), "v1": m(ra_rft[i], ra_rft[i])} for i, s in enumerate(seeds)},
    }
    table = build_table(evals)
    return {
        "preset": "test", "config": get_preset("tiny", {"seeds": list(seeds)}).model_dump(), "run_dir": "/tmp/x",
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:10:00Z", "wall_time_s": 600.0,
        "evals": evals, "table": table, "primary_metric": "avg@4",
        "comparisons": [c for c in (compare(table, "avg@4", "ra-rft", "v1"), compare(table, "avg@4", "ra-rft", "none")) if c],
        "retrievers": {"v0": {"strategy_match@4": 0.1, "strategy_match@4/unseen": 0.05, "distinct_strategies@4": 3.2},
                       "v1": {"strategy_match@4": 0.85, "strategy_match@4/unseen": 0.6, "distinct_strategies@4": 1.4}},
        "train": {"grpo": {str(s): {"reward_curve": [{"step": 1, "reward": 0.2}, {"step": 2, "reward": 0.3}],
                                    "final_reward": 0.3, "mean_reward": 0.25, "global_step": 2} for s in seeds}},
        "stages": {"data": {"elapsed_s": 3.0, "skipped": False}, "policy": {"elapsed_s": 40.0, "skipped": True}},
    }


def test_table_means_and_every_seed_in_report():
    results = make_results()
    row = next(r for r in results["table"] if r["arm"] == "ra-rft" and r["retrieval"] == "v1")
    assert row["metrics"]["avg@4"]["mean"] == pytest.approx(0.55)
    assert row["metrics"]["avg@4"]["std"] == pytest.approx(0.05)
    text = render_report(results)
    line = next(ln for ln in text.splitlines() if ln.startswith("| RA-RFT | distilled v1"))
    assert "55.0 ± 5.0 (50.0, 55.0, 60.0)" in line
    assert "RA-RFT (distilled v1 at test) **beat** GRPO (no retrieval at test) on avg@4: 55.0% vs 31.0% (+24.0 points)" in text
    assert "gap exceeds the seed spread" in text
    assert "| strategy-match@4 | 0.100 | 0.850 |" in text
    assert "| strategy-match@4 on unseen wordings (no bank row phrased alike) | 0.050 | 0.600 |" in text
    assert "reused from an earlier run" in text
    assert row["by_wording"]["unseen"]["mean"] == pytest.approx(0.35)
    worded = next(ln for ln in text.split("### By question wording")[1].splitlines() if ln.startswith("| RA-RFT | distilled v1"))
    assert worded == "| RA-RFT | distilled v1 | 65.0 ± 5.0 (60.0, 65.0, 70.0) | 35.0 ± 5.0 (30.0, 35.0, 40.0) |"


def test_negative_and_single_seed_results_are_stated_as_such():
    results = make_results(seeds=(0,), ra_rft=(0.20,), grpo=(0.30,))
    lines = verdict(results)
    assert "**lost to**" in lines[0] and "-10.0 points" in lines[0] and "one seed only" in lines[0]
    one_sample = verdict(make_results(seeds=(0,), ra_rft=(0.07166666666666667,), grpo=(0.07208333333333333,)))
    assert "**lost to**" in one_sample[0] and "7.17% vs 7.21% (-0.04 points)" in one_sample[0]
    close = make_results(ra_rft=(0.30, 0.40, 0.33), grpo=(0.31, 0.29, 0.36))
    assert "within the seed spread" in verdict(close)[0]


def test_write_report_dir_agrees_with_results_json(tmp_path):
    results = make_results()
    write_report_dir(tmp_path, results)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert sorted(on_disk["figures"]) == ["accuracy.png", "retrievers.png", "reward_curves.png"]
    for name in on_disk["figures"]:
        assert (tmp_path / "figures" / name).stat().st_size > 1000
    report = (tmp_path / "report.md").read_text()
    for row in on_disk["table"]:
        assert f"{100 * row['metrics']['avg@4']['mean']:.1f} ± " in report
    assert [r["label"] for r in retriever_rows(on_disk)] == [
        "strategy-match@4", "strategy-match@4 on unseen wordings (no bank row phrased alike)", "distinct strategies in the top-4"]
    assert re.search(r"!\[accuracy.png\]\(figures/accuracy.png\)", report)


def test_presets_and_flags():
    assert to_flags({"max_steps": 3, "use_x": True, "feedback": False, "tags": ["a", "b"], "skip": None}) == [
        "--max-steps", "3", "--use-x", "--no-feedback", "--tags", "a", "b"]
    p = get_preset("quick", {"train_args": {"max_steps": 1}})
    assert p.train_args["max_steps"] == 1 and p.seeds == [0]
    assert len(get_preset("full").seeds) >= 3
    with pytest.raises(Exception):
        get_preset("quick", {"nope": 1})
