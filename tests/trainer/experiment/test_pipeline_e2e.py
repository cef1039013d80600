"""The whole study at tiny sizes through the real commands: every report artifact exists and agrees with results.json.

Real parts throughout: `rarft data`, `init-policy`, `build-retriever`, `serve` as a child process on a loopback
port, `label`, `distill`, `deploy` (hot load of v1), three `rarft train` arms, `rarft eval`, `eval-retriever`.
A rerun then reuses every finished stage.
"""

import json
import os
import re

import pytest

pytestmark = pytest.mark.slow


def test_tiny_experiment_end_to_end_and_resume(tmp_path, capsys):
    from trainer.experiment.cli import main

    out = tmp_path / "run"
    assert main(["--preset", "tiny", "--out", str(out)]) == 0
    first = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()

    # every arm trained and evaluated in each of its conditions, on the same warm-started policy
    conditions = {(r["arm"], r["retrieval"]) for r in results["table"]}
    assert conditions == {("grpo", "none"), ("grpo", "v0"), ("grpo", "v1"), ("semantic", "none"), ("semantic", "v0"),
                          ("ra-rft", "none"), ("ra-rft", "v1")}
    key = results["primary_metric"]
    assert key == "avg@2"
    for row in results["table"]:
        seed = row["seeds"][0]
        on_disk = json.loads((out / "eval" / f"{row['arm']}-s{seed}-{row['retrieval']}" / "results.json").read_text())
        assert row["metrics"][key]["values"] == [on_disk["metrics"][key]]
        assert on_disk["num_problems"] == 8
        if row["retrieval"] != "none":  # demonstrations came from the pinned version over HTTP
            assert on_disk["retrieval"]["versions_served"] == {row["retrieval"]: 8}
        cells = next(ln for ln in report.splitlines() if ln.startswith("| ") and row["arm"].replace("ra-rft", "RA-RFT")
                     .replace("grpo", "GRPO").replace("semantic", "semantic RAG-RFT") + " |" in ln
                     and {"none": "no retrieval", "v0": "semantic v0", "v1": "distilled v1"}[row["retrieval"]] in ln)
        assert f"| {100 * row['metrics'][key]['mean']:.1f} |" in cells

    # v1 was distilled from v0 and hot-loaded into the running service, which was then stopped
    assert results["retriever_versions"]["v1"]["parent_version"] in ("v0", str(out / "registry" / "v0"))
    assert results["deploy"]["loaded_by"].startswith("rarft deploy load")
    assert {v["name"] for v in results["deploy"]["versions"]["versions"]} >= {"v0", "v1"}
    pid = json.loads((out / "stages" / "service.json").read_text())["outputs"]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    # training curves, retriever analysis, figures and the verdict are in the report
    for arm in ("grpo", "semantic", "ra-rft"):
        assert results["train"][arm]["0"]["global_step"] == 2
        assert results["train"][arm]["0"]["reward_curve"]
    assert set(results["retrievers"]) == {"v0", "v1"}
    for version in ("v0", "v1"):
        assert 0.0 <= results["retrievers"][version]["strategy_match@4"] <= 1.0
        assert "benefit@4" in results["retrievers"][version]
        assert 0.0 <= results["retrievers"][version]["ndcg@4"] <= 1.0  # against test queries labelled in the analysis
        assert results["retrievers"][version]["labelled_queries"] >= 1
    assert "| strategy-match@4 |" in report and "| nDCG@4 |" in report
    assert sorted(results["figures"]) == ["accuracy.png", "retrievers.png", "reward_curves.png"]
    for name in results["figures"]:
        assert (out / "figures" / name).stat().st_size > 1000
        assert f"(figures/{name})" in report
    assert re.search(r"RA-RFT \(distilled v1 at test\) \*\*(beat|lost to|tied)\*\* GRPO", report)
    assert "one seed only" in report
    assert re.findall(r"\[\d+/\d+\] \S+: done in .*ETA", first)

    # a rerun skips every finished stage (the service is started again; the report is rewritten)
    assert main(["--preset", "tiny", "--out", str(out)]) == 0
    second = capsys.readouterr().out
    rerun = json.loads((out / "results.json").read_text())
    reused = {name for name, t in rerun["stages"].items() if t["skipped"]}
    assert reused >= {"data", "policy", "retriever-v0", "label", "distill", "deploy", "train-ra-rft-s0",
                      "eval-ra-rft-s0-v1", "analysis"}
    assert rerun["table"] == results["table"]
    assert "reused" in second
