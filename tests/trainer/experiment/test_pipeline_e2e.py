"""The whole study at tiny sizes through the real commands: every report artifact exists and agrees with results.json.

Real parts throughout: `rarft data`, `init-policy`, `build-retriever`, `serve` as a child process on a loopback
port, `label`, `distill`, `deploy` (hot load of v1), the preset's `rarft train` arms on two seeds, `rarft eval`,
`eval-retriever`, the paired bootstrap. A rerun then reuses every finished stage.
"""

import json
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_tiny_experiment_end_to_end_and_resume(tmp_path, capsys):
    from trainer.experiment.cli import main

    out = tmp_path / "run"
    assert main(["--preset", "tiny", "--out", str(out)]) == 0
    first = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()

    # every arm trained on both seeds and evaluated in the conditions the comparisons read, beside the warm start
    conditions = {(r["arm"], r["retrieval"]) for r in results["table"]}
    assert conditions == {("base", "none"), ("base", "v1"), ("grpo", "none"), ("grpo", "v1"), ("ra-rft", "v1"),
                          ("ra-rft", "v0")}
    key = results["primary_metric"]
    assert key == "avg@2"
    for row in results["table"]:
        assert row["seeds"] == (["0"] if row["arm"] == "base" else ["0", "1"])
        for seed, value in zip(row["seeds"], row["metrics"][key]["values"]):
            on_disk = json.loads((out / "eval" / (f"base-{row['retrieval']}" if row["arm"] == "base" else
                                                  f"{row['arm']}-s{seed}-{row['retrieval']}") / "results.json").read_text())
            assert value == on_disk["metrics"][key] and on_disk["num_problems"] == 8
            assert on_disk["config"]["seed"] == int(seed) + 1000  # the evaluation seed is never the training seed
            if row["retrieval"] != "none":  # demonstrations came from the pinned version over HTTP
                assert on_disk["retrieval"]["versions_served"] == {row["retrieval"]: 8}

    # the pre-registered comparisons: CIs and per-seed differences in results.json are the ones the report prints
    comps = {c["name"]: c for c in results["comparisons"]}
    assert set(comps) >= {"primary", "rl_stage", "reasoning_aware", "rl_moved_grpo"}
    assert [d["name"] for d in results["design"]][:3] == ["primary", "rl_stage", "reasoning_aware"]
    for c in comps.values():
        assert c["n_resamples"] == 10_000 and c["ci_low"] <= c["estimate"] <= c["ci_high"]
        assert len(c["per_seed"]) == len(c["seeds"]) == 2
        row = next(ln for ln in report.splitlines() if f"| {c['arm_title']} − {c['baseline_title']} |" in ln)
        assert f"| {100 * c['estimate']:+.1f} | {100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f} |" in row
        assert all(f"{100 * d:+.1f}" in row for d in c["per_seed"])
    assert comps["primary"]["verdict"] in report
    assert ("beats" in comps["primary"]["verdict"]) == (comps["primary"]["ci_low"] > 0)

    # no dev or test problem (normalised) is in the bank or in the RL rows, nor is its worked solution
    from shared.rows import read_rows
    from shared.text import problem_hash

    rows = {n: read_rows(out / "data" / f"{n}.jsonl") for n in ("bank", "train", "rl", "dev", "test")}
    seen = {problem_hash(r.problem) for n in ("bank", "rl", "train") for r in rows[n]}
    solutions = {problem_hash(r.solution) for n in ("bank", "rl", "train") for r in rows[n]}
    for n in ("dev", "test"):
        assert not {problem_hash(r.problem) for r in rows[n]} & seen
        assert not {problem_hash(r.solution) for r in rows[n]} & solutions
    assert all(r.metadata["wording"] == "rl" for r in rows["rl"])

    # v1 was distilled from v0 and hot-loaded into the running service, which was then stopped
    assert results["retriever_versions"]["v1"]["parent_version"] in ("v0", str(out / "registry" / "v0"))
    assert set(results["retriever_versions"]) == {"v0", "v1"} and set(results["policies"]) == {"policy"}
    assert results["deployments"]["v1"]["loaded_by"].startswith("rarft deploy load")
    assert {v["name"] for v in results["deployments"]["v1"]["versions"]["versions"]} >= {"v0", "v1"}
    pid = json.loads((out / "stages" / "service.json").read_text())["outputs"]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    # training curves, retriever analysis, figures and the verdict are in the report
    for arm in ("grpo", "ra-rft"):
        for seed in ("0", "1"):
            assert results["train"][arm][seed]["global_step"] == 2
            assert results["train"][arm][seed]["reward_curve"]
            assert results["train"][arm][seed]["step_seconds"] > 0
    assert "RA-RFT's step costs" in report
    assert set(results["retrievers"]) == {"v0", "v1"}
    for version in ("v0", "v1"):
        assert 0.0 <= results["retrievers"][version]["strategy_match@4"] <= 1.0
        assert "benefit@4" in results["retrievers"][version]
        assert 0.0 <= results["retrievers"][version]["ndcg@4"] <= 1.0  # against test queries labelled in the analysis
        assert results["retrievers"][version]["labelled_queries"] >= 1
    assert "| strategy-match@4 |" in report and "| nDCG@4 |" in report
    assert sorted(results["figures"]) == ["accuracy.png", "forest.png", "retrievers.png", "reward_curves.png"]
    for name in results["figures"]:
        assert (out / "figures" / name).stat().st_size > 1000
        assert f"(figures/{name})" in report
    assert re.findall(r"\[\d+/\d+\] \S+: done in .*ETA", first)
    # the preset's report_to (TensorBoard) reached every training stage, each writing beside its artifact
    for logs in (out / "policy" / "logs", out / "registry" / "v1" / "logs" / "kl", out / "runs" / "ra-rft-s0" / "runs"):
        assert list(logs.rglob("events.out.tfevents.*")), logs

    # a rerun skips every finished stage (the service is started again; the report is rewritten)
    assert main(["--preset", "tiny", "--out", str(out)]) == 0
    second = capsys.readouterr().out
    rerun = json.loads((out / "results.json").read_text())
    reused = {name for name, t in rerun["stages"].items() if t["skipped"]}
    assert reused >= {"data", "policy", "retriever-v0", "label", "distill", "deploy", "train-ra-rft-s0",
                      "eval-ra-rft-s0-v1", "analysis"}
    assert rerun["table"] == results["table"]
    assert "reused" in second

    # v1 distilled again (another distillation seed): the restarted service had loaded the older v1 from the
    # registry, so the deploy stage unloads it and loads the new one; every later stage then retrieves from it
    assert main(["--preset", "tiny", "--out", str(out), "--overrides", json.dumps({"distill_args": {"seed": 1}})]) == 0
    capsys.readouterr()
    third = json.loads((out / "results.json").read_text())
    assert not third["stages"]["distill"]["skipped"] and not third["stages"]["deploy"]["skipped"]
    # only what retrieves from v1 ran again: GRPO's training and the evaluations without retrieval stand
    again = {name for name, t in third["stages"].items() if not t["skipped"]}
    assert {"train-ra-rft-s0", "eval-ra-rft-s0-v1", "eval-ra-rft-s0-v0", "eval-grpo-s0-v1", "eval-base-v1"} <= again
    assert not again & {"train-grpo-s0", "train-grpo-s1", "eval-grpo-s0-none", "eval-base-none"}
    assert third["deployments"]["v1"]["loaded_by"].endswith("after unloading the older v1")
    served = {v["name"]: v for v in third["deployments"]["v1"]["versions"]["versions"]}
    built = json.loads((out / "registry" / "v1" / "manifest.json").read_text())
    assert served["v1"]["manifest"]["created_at"] == built["created_at"] != rerun["deployments"]["v1"]["versions"]["versions"][0]["manifest"]["created_at"]


def test_a_warm_start_per_seed(tmp_path, capsys):
    """vary_warm_start (the full preset's): each seed trains from its own warm start and retrieves from the v1
    distilled from that warm start's labels; the warm start is evaluated per seed, and the comparisons pair by seed.
    Two distillation rounds: each warm start's v1 is distilled on from its round-1 retriever, with pools from it."""
    from trainer.experiment.cli import main

    out = tmp_path / "run"
    overrides = {"vary_warm_start": True, "test_label_queries": 0, "distill_rounds": 2}
    assert main(["--preset", "tiny", "--out", str(out), "--overrides", json.dumps(overrides)]) == 0
    capsys.readouterr()
    results = json.loads((out / "results.json").read_text())
    policies = [json.loads((out / f"policy-s{s}" / "rarft_policy.json").read_text()) for s in (0, 1)]
    assert [p["config"]["seed"] for p in policies] == [0, 1]
    assert (out / "registry" / "v1-s0" / "manifest.json").is_file() and (out / "registry" / "v1-s1" / "manifest.json").is_file()
    assert not (out / "policy").exists() and not (out / "registry" / "v1").exists()
    for seed in (0, 1):  # round 2 labelled the same queries with round 1's retriever and distilled on from it
        manifest = json.loads((out / "registry" / f"v1-s{seed}" / "manifest.json").read_text())
        assert Path(manifest["parent_version"]).name == f"v1-s{seed}-r1"
        assert f"--retriever {out / 'rounds' / f'v1-s{seed}-r1'}" in (out / "logs" / f"label-s{seed}-r2.log").read_text()
        assert not (out / "registry" / f"v1-s{seed}-r1").exists()  # outside the registry: no service ever loads it
        first, second = ({json.loads(ln)["query_id"] for ln in (out / "labels" / name).read_text().splitlines()}
                         for name in (f"labels-s{seed}.jsonl", f"labels-s{seed}-r2.jsonl"))
        assert first == second
    assert {f"label-s{s}-r2" for s in (0, 1)} | {f"distill-s{s}-r2" for s in (0, 1)} <= set(results["stages"])
    assert set(results["deployments"]) == {"v1-s0", "v1-s1"}  # each warm start's v1 reached the service
    report = (out / "report.md").read_text()
    for seed in (0, 1):
        served = {v["name"] for v in results["deployments"][f"v1-s{seed}"]["versions"]["versions"]}
        assert {"v0", f"v1-s{seed}"} <= served and not any(name.endswith("-r1") for name in served)  # rounds stay out
        assert f"- v1-s{seed} reached the running service by rarft deploy load" in report
    for seed in (0, 1):
        base = json.loads((out / "eval" / f"base-s{seed}-v1" / "results.json").read_text())
        assert base["retrieval"]["versions_served"] == {f"v1-s{seed}": 8}
        arm = json.loads((out / "eval" / f"ra-rft-s{seed}-v1" / "results.json").read_text())
        assert arm["retrieval"]["versions_served"] == {f"v1-s{seed}": 8}
        log = (out / "logs" / f"train-ra-rft-s{seed}.log").read_text()
        assert f"policy-s{seed}" in log and f"v1-s{seed}" in log
    assert all(r["seeds"] == ["0", "1"] for r in results["table"])  # the warm start too, per seed
    assert set(results["retrievers"]) == {"v0", "v1-s0", "v1-s1"}  # every seed's v1 in the retriever analysis
    assert set(results["retriever_versions"]) == {"v0", "v1-s0", "v1-s1"} and set(results["policies"]) == {"policy-s0", "policy-s1"}
    assert results["retriever_versions"]["v1-s1"]["name"] == "v1-s1"
    assert "Retriever v1-s1:" in (out / "report.md").read_text() and "policy `policy-s1`" in (out / "report.md").read_text()
    assert all(0.0 <= m["strategy_match@4"] <= 1.0 for m in results["retrievers"].values())
    assert "a warm start" in results["statistic"]["seeds"]
    assert "a seed is a warm start" in (out / "report.md").read_text()
