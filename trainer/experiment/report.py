"""report.md from results.json: tables in the paper's terms and a plain verdict, every seed shown.

The report is a pure function of the results dict, so a test can render it from a hand-made dict and check
that every number in it is the measured one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.artifacts import atomic_write_text
from trainer.data.strategies import WORDINGS

ARM_TITLES = {"base": "warm-started policy (no RL)", "grpo": "GRPO", "semantic": "semantic RAG-RFT", "ra-rft": "RA-RFT"}
RETRIEVAL_TITLES = {"none": "no retrieval", "v0": "semantic v0", "v1": "distilled v1"}
# Retriever-analysis metrics shown in the report, matched by substring of the flattened key, in this order.
RETRIEVER_METRICS = [("strategy_match@", "strategy-match@{k}"),
                     ("strategy_match@/unseen", "strategy-match@{k} on unseen wordings (no bank row phrased alike)"),
                     ("ndcg@", "nDCG@{k}"),
                     ("benefit@", "benefit of the top-{k} (policy, vs no demo)"),
                     ("distinct_strategies@", "distinct strategies in the top-{k}"),
                     ("pairwise_distance@", "mean pairwise distance of the top-{k}, all embedded by one reference encoder")]


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def fmt_metric(m: dict[str, Any]) -> str:
    """'mean ± std' in percent, with the per-seed values when there is more than one seed."""
    text = f"{pct(m['mean'])} ± {pct(m['std'])}" if m["n"] > 1 else pct(m["mean"])
    return text + (f" ({', '.join(pct(v) for v in m['values'])})" if m["n"] > 1 else "")


def retriever_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the retriever table: the standard metrics found in the analysis output, for each version."""
    retrievers = results.get("retrievers", {})
    rows = []
    for needle, label in RETRIEVER_METRICS:
        values = {}
        found = None
        prefix, _, suffix = needle.partition("/")  # "strategy_match@/unseen": a per-wording key ending in /unseen
        for version, flat in retrievers.items():
            key = next((k for k in sorted(flat, key=len) if k.lower().replace("-", "_").startswith(prefix)
                        and (k.endswith("/" + suffix) if suffix else "/" not in k.split("@")[-1])), None)
            if key is not None:
                values[version] = flat[key]
                found = key
        if values:
            rows.append({"label": label.format(k=found.split("@")[-1].split("/")[0]), "key": found, "values": values})
    return rows


def verdict(results: dict[str, Any]) -> list[str]:
    lines = []
    for c in results.get("comparisons", []):
        arm = f"{ARM_TITLES[c['arm']]} ({RETRIEVAL_TITLES[c['arm_retrieval']]} at test)"
        base = f"{ARM_TITLES[c['baseline']]} ({RETRIEVAL_TITLES[c['baseline_retrieval']]} at test)"
        sign = "+" if c["delta"] >= 0 else ""
        if c["num_seeds"] < 2:
            strength = "one seed only, so this is a single measurement, not evidence of a difference"
        elif c["clear"]:
            strength = f"over {c['num_seeds']} seeds the gap exceeds the seed spread"
        else:
            strength = f"over {c['num_seeds']} seeds the gap is within the seed spread (not a clear difference)"
        # two decimals when one would print a real (e.g. one-sample) difference as "7.2% vs 7.2% (-0.0 points)"
        digits = 2 if c["delta"] and round(c["delta_points"], 1) == 0 else 1
        lines.append(f"- {arm} **{c['outcome']}** {base} on {c['metric']}: {100 * c['arm_mean']:.{digits}f}% vs "
                     f"{100 * c['baseline_mean']:.{digits}f}% ({sign}{c['delta_points']:.{digits}f} points); {strength}.")
    if not lines:
        lines.append("- No comparison could be made: an arm's evaluation is missing.")
    return lines


def wording_table(results: dict[str, Any]) -> list[str]:
    """avg@k per question wording: on 'unseen' wordings (test-only templates) neither the policy nor the bank has
    seen the phrasing, so that column is where an analogous demonstration should matter most."""
    rows = [r for r in results.get("table", []) if r.get("by_wording")]
    wordings = sorted({w for r in rows for w in r["by_wording"]}, key=lambda w: (WORDINGS.index(w) if w in WORDINGS else len(WORDINGS), w))
    if not wordings:
        return []
    out = ["", "### By question wording (avg@k)", "",
           "'familiar' and 'novel' templates also write bank and RL-train problems; 'unseen' ones write test problems only.",
           "", "| arm | retrieval at test | " + " | ".join(wordings) + " |", "|---|---|" + "---|" * len(wordings)]
    for r in rows:
        cells = [fmt_metric(r["by_wording"][w]) if w in r["by_wording"] else "n/a" for w in wordings]
        out.append(f"| {ARM_TITLES.get(r['arm'], r['arm'])} | {RETRIEVAL_TITLES.get(r['retrieval'], r['retrieval'])} | "
                   + " | ".join(cells) + " |")
    return out


def render_report(results: dict[str, Any]) -> str:
    metric = results.get("primary_metric") or "avg@k"
    keys = []
    for row in results.get("table", []):
        keys += [k for k in row["metrics"] if k not in keys]
    n_seeds = len(results["config"]["seeds"])
    ev = results["config"].get("eval_args", {})
    out = [f"# RA-RFT experiment report (preset `{results['preset']}`)", "",
           f"Run dir `{results['run_dir']}`, {results['started_at']} to {results['finished_at']}, "
           f"wall time {results['wall_time_s'] / 60:.1f} min (stages' own times, summed over the runs that computed "
           f"them: {sum(t['elapsed_s'] for t in results.get('stages', {}).values()) / 60:.1f} min). "
           "Every number below was measured in this run "
           f"({n_seeds} seed(s) per arm; every seed is shown).", "",
           "## Verdict", "", *verdict(results), "",
           f"## Test accuracy ({metric}, pass@k) per arm and retrieval condition", "",
           f"Accuracies in percent on the test split ({ev.get('limit', 'all')} problems, k={ev.get('k', '?')} samples at "
           f"temperature {ev.get('temperature', '?')}); avg@k is the mean accuracy over the k samples (the paper's avg@32 "
           "with k=32), pass@k the unbiased estimator 1 - C(n-c,k)/C(n,k). With several seeds: mean ± std (per-seed values). "
           "'strategy match of demos' is the fraction of retrieved demonstrations sharing the problem's strategy.", "",
           "| arm | retrieval at test | " + " | ".join(keys) + " | strategy match of demos |",
           "|---|---|" + "---|" * len(keys) + "---|"]
    for row in results.get("table", []):
        sm = [x for x in row.get("demo_strategy_match", []) if x is not None]
        cells = [fmt_metric(row["metrics"][k]) if k in row["metrics"] else "n/a" for k in keys]
        out.append(f"| {ARM_TITLES.get(row['arm'], row['arm'])} | {RETRIEVAL_TITLES.get(row['retrieval'], row['retrieval'])} | "
                   + " | ".join(cells) + f" | {pct(sum(sm) / len(sm)) if sm else '-'} |")
    out += wording_table(results)
    rrows = retriever_rows(results)
    versions = list(results.get("retrievers", {}))
    out += ["", "## Retrievers: semantic (v0) vs distilled (v1)", ""]
    if rrows:
        out += ["| metric | " + " | ".join(versions) + " |", "|---|" + "---|" * len(versions)]
        out += [f"| {r['label']} | " + " | ".join(f"{r['values'][v]:.3f}" if v in r["values"] else "n/a" for v in versions) + " |"
                for r in rrows]
    else:
        out.append("No retriever analysis results were found.")
    out += ["", "## Training (GRPO steps, reward from trainer_state.json)", "",
            "| arm | seed | steps | first reward | final reward | mean reward | rollouts with demos | retrieval ms/step |",
            "|---|---|---|---|---|---|---|---|"]
    for arm, seeds in results.get("train", {}).items():
        for seed, run in sorted(seeds.items()):
            curve = run.get("reward_curve") or []
            first = f"{curve[0]['reward']:.3f}" if curve else "n/a"
            final = f"{run['final_reward']:.3f}" if run.get("final_reward") is not None else "n/a"
            mean = f"{run['mean_reward']:.3f}" if run.get("mean_reward") is not None else "n/a"
            ret = run.get("retrieval") or {}
            demos = ret.get("retrieval/with_demos")
            lat = ret.get("retrieval/latency_ms")
            out.append(f"| {ARM_TITLES.get(arm, arm)} | {seed} | {run.get('global_step', 'n/a')} | {first} | {final} | {mean} | "
                       f"{pct(demos) + '%' if demos is not None else '-'} | {f'{lat:.0f}' if lat is not None else '-'} |")
    out += ["", "## Setup: data, policy, retriever versions, deployment", ""]
    data = results.get("data") or {}
    if data:
        out.append(f"- Benchmark: generator `{data.get('generator')}`, seed {data.get('seed')}, sizes {data.get('sizes')}, "
                   f"{len(data.get('strategies', []))} strategies x {len(data.get('themes', []))} themes.")
    policy = results.get("policy") or {}
    if policy:
        acc = ", ".join(f"{k} {pct(v)}%" for k, v in policy.get("accuracy", {}).items())
        out.append(f"- Warm-started policy: {policy.get('num_parameters', '?'):,} parameters, greedy test accuracy by "
                   f"demonstration: {acc}." if isinstance(policy.get("num_parameters"), int) else f"- Policy: {policy}")
    for v, m in results.get("retriever_versions", {}).items():
        out.append(f"- Retriever {v}: {m.get('num_demonstrations')} demonstrations, dim {m.get('dim')}, index {m.get('index_type')}, "
                   f"parent {m.get('parent_version')}, bank sha256 {str(m.get('bank_checksum'))[:12]}, created {m.get('created_at')}.")
    dep = results.get("deploy") or {}
    if dep:
        out.append(f"- v1 reached the running service by {dep.get('loaded_by')}; versions served after deploy: "
                   f"{[v['name'] for v in dep.get('versions', {}).get('versions', [])]}.")
    out.append(f"- Environment: {results.get('environment')}.")
    out += ["", "Preset (the flags given to each command):", "", "```json", json.dumps(results["config"], indent=2), "```",
            "", "## Wall time per stage", "", "| stage | seconds | |", "|---|---|---|"]
    for name, t in results.get("stages", {}).items():
        out.append(f"| {name} | {t['elapsed_s']:.1f} | {'reused from an earlier run' if t.get('skipped') else ''} |")
    out += ["", "## Figures", ""] + [f"![{f}](figures/{f})" for f in results.get("figures", [])]
    return "\n".join(out) + "\n"


def write_report_dir(out: Path, results: dict[str, Any]) -> dict[str, Any]:
    """figures/*.png, results.json and report.md (written last, atomically)."""
    from trainer.experiment.figures import write_figures

    out = Path(out)
    results["figures"] = write_figures(results, out / "figures")
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=str) + "\n")
    atomic_write_text(out / "report.md", render_report(results))
    return {"report": str(out / "report.md"), "results": str(out / "results.json"), "figures": results["figures"]}
