"""report.md from results.json: tables in the paper's terms and a plain verdict, every seed shown.

The report is a pure function of a typed `Results` (trainer.experiment.schema), so a test can render it from
hand-made results and check that every number in it is the measured one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.artifacts import atomic_write_text
from trainer.data.strategies import WORDINGS
from trainer.experiment.comparisons import ARM_TITLES, RETRIEVAL_TITLES
from trainer.experiment.schema import Results, Spread


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def fmt_metric(m: Spread) -> str:
    """'mean ± std' in percent, with the per-seed values when there is more than one seed."""
    text = f"{pct(m.mean)} ± {pct(m.std)}" if m.n > 1 else pct(m.mean)
    return text + (f" ({', '.join(pct(v) for v in m.values)})" if m.n > 1 else "")


def points(x: float) -> str:
    return f"{100 * x:+.1f}"


def split_name(results: Results) -> str:
    if results.eval_split == "dev":
        return "dev split (a sweep run: settings are chosen here; test was not read)"
    return "test split, read once at the end of a run whose settings were fixed on dev"


def design_section(results: Results) -> list[str]:
    """The comparison as fixed before the run (from the preset's arms), stated before any number."""
    st = results.statistic
    statistic = (f"{st.kind} ({st.n_resamples} resamples), {int(100 * st.confidence)}% percentile CIs, {st.p_value}; "
                 f"{st.correction}" + (f"; a seed is {st.seeds}" if st.seeds else "") if st else "paired bootstrap")
    out = ["## The comparison, fixed before the numbers", "",
           f"Metric: {results.primary_metric or 'avg@k'} on the {split_name(results)}. "
           f"Statistic: {statistic}. The verdict is the CI's, never the point estimate.", ""]
    for d in results.design:
        arm = f"{ARM_TITLES[d.arm[0]]} ({RETRIEVAL_TITLES[d.arm[1]]} at test)"
        base = f"{ARM_TITLES[d.baseline[0]]} ({RETRIEVAL_TITLES[d.baseline[1]]} at test)"
        out.append(f"- **{d.kind}** ({d.name}): {d.question} {arm} minus {base}.")
    return out


def verdict(results: Results) -> list[str]:
    lines = [f"- {c.kind.capitalize()}: {c.verdict}." for c in results.comparisons if c.kind != "descriptive"]
    primary, rl = results.comparison("primary"), results.comparison("rl_stage")
    rl_p = rl.p_holm if rl is not None and rl.p_holm is not None else 1.0
    if primary and rl and primary.ci_low > 0 and not (rl.ci_low > 0 and rl_p < 0.05):
        lines.append("- The gain is retrieval at inference, not RFT: RA-RFT does not beat GRPO given the same "
                     f"demonstrations at test (95% CI {points(rl.ci_low)} to {points(rl.ci_high)} points).")
    if primary and len(primary.seeds) < 2:
        lines.append("- One seed only: the CI covers templates and problems, not training runs.")
    if not lines:
        lines.append("- No comparison could be made: an arm's evaluation is missing.")
    return lines


def comparison_table(results: Results) -> list[str]:
    comps = results.comparisons
    if not comps:
        return []
    seeds = sorted({s for c in comps for s in c.seeds})
    out = ["", "## Paired differences (points of avg@k)", "",
           "Each row: arm minus baseline over the same test problems; 'per seed' is each training seed's mean "
           "difference. Descriptive rows (RL against the warm start) are outside the Holm correction.", "",
           "| kind | comparison | difference | 95% CI | one-sided p | Holm p | " + " | ".join(f"seed {s}" for s in seeds) + " |",
           "|---|---|---|---|---|---|" + "---|" * len(seeds)]
    for c in comps:
        per_seed = dict(zip(c.seeds, c.per_seed))
        holm_p = f"{c.p_holm:.4f}" if c.p_holm is not None else "-"
        out.append(f"| {c.kind} | {c.arm_title} − {c.baseline_title} | {points(c.estimate)} | "
                   f"{points(c.ci_low)} to {points(c.ci_high)} | {c.p_one_sided:.4f} | {holm_p} | "
                   + " | ".join(points(per_seed[s]) if s in per_seed else "-" for s in seeds) + " |")
    return out


def wording_table(results: Results) -> list[str]:
    """avg@k per question wording: on 'unseen' wordings (test-only templates) neither the policy nor the bank has
    seen the phrasing, so that column is where an analogous demonstration should matter most."""
    rows = [r for r in results.table if r.by_wording]
    wordings = sorted({w for r in rows for w in r.by_wording}, key=lambda w: (WORDINGS.index(w) if w in WORDINGS else len(WORDINGS), w))
    if not wordings:
        return []
    out = ["", "### By question wording (avg@k)", "",
           "'familiar' and 'novel' templates also write bank and RL-train problems; 'unseen' ones write test problems only.",
           "", "| arm | retrieval at test | " + " | ".join(wordings) + " |", "|---|---|" + "---|" * len(wordings)]
    for r in rows:
        cells = [fmt_metric(r.by_wording[w]) if w in r.by_wording else "n/a" for w in wordings]
        out.append(f"| {ARM_TITLES.get(r.arm, r.arm)} | {RETRIEVAL_TITLES.get(r.retrieval, r.retrieval)} | "
                   + " | ".join(cells) + " |")
    return out


def step_cost(results: Results) -> list[str]:
    """Each retrieval arm's training step against GRPO's, paired by seed: what the demonstrations in the prompt cost,
    which the budget of an RA-RFT run depends on."""
    base = {seed: run.get("step_seconds") for seed, run in results.train.get("grpo", {}).items()}
    lines = []
    for arm, seeds in results.train.items():
        ratios = {seed: run["step_seconds"] / base[seed] for seed, run in sorted(seeds.items())
                  if arm != "grpo" and run.get("step_seconds") and base.get(seed)}
        if ratios:
            per_seed = ", ".join(f"{r:.2f}x" for r in ratios.values())
            lines.append(f"- {ARM_TITLES.get(arm, arm)}'s step costs {sum(ratios.values()) / len(ratios):.2f}x GRPO's "
                         f"(seconds per step, mean over seeds; per seed: {per_seed}).")
    return ["", *lines] if lines else []


def render_report(results: Results) -> str:
    metric = results.primary_metric or "avg@k"
    keys: list[str] = []
    for row in results.table:
        keys += [k for k in row.metrics if k not in keys]
    n_seeds = len(results.config["seeds"])
    ev = results.config.get("eval_args", {})
    out = [f"# RA-RFT experiment report (preset `{results.preset}`)", "",
           f"Run dir `{results.run_dir}`, {results.started_at} to {results.finished_at}, "
           f"wall time {results.wall_time_s / 60:.1f} min (stages' own times, summed over the runs that computed "
           f"them: {sum(t.elapsed_s for t in results.stages.values()) / 60:.1f} min). "
           "Every number below was measured in this run "
           f"({n_seeds} seed(s) per arm; every seed is shown).", "",
           *design_section(results), "", "## Verdict", "", *verdict(results), *comparison_table(results), "",
           f"## {results.eval_split.capitalize()} accuracy ({metric}, pass@k) per arm and retrieval "
           "condition", "",
           f"Accuracies in percent on the {split_name(results)} ({ev.get('limit', 'all')} problems, k={ev.get('k', '?')} samples at "
           f"temperature {ev.get('temperature', '?')}); avg@k is the mean accuracy over the k samples (the paper's avg@32 "
           "with k=32), pass@k the unbiased estimator 1 - C(n-c,k)/C(n,k). With several seeds: mean ± std (per-seed values). "
           "'strategy match of demos' is the fraction of retrieved demonstrations sharing the problem's strategy.", "",
           "| arm | retrieval at test | " + " | ".join(keys) + " | strategy match of demos |",
           "|---|---|" + "---|" * len(keys) + "---|"]
    for row in results.table:
        sm = [x for x in row.demo_strategy_match if x is not None]
        cells = [fmt_metric(row.metrics[k]) if k in row.metrics else "n/a" for k in keys]
        out.append(f"| {ARM_TITLES.get(row.arm, row.arm)} | {RETRIEVAL_TITLES.get(row.retrieval, row.retrieval)} | "
                   + " | ".join(cells) + f" | {pct(sum(sm) / len(sm)) if sm else '-'} |")
    out += wording_table(results)
    rrows = results.retriever_rows
    versions = list(results.retrievers)
    out += ["", "## Retrievers: semantic (v0) vs distilled (v1)", ""]
    if rrows:
        out += ["| metric | " + " | ".join(versions) + " |", "|---|" + "---|" * len(versions)]
        out += [f"| {r.label} | " + " | ".join(f"{r.values[v]:.3f}" if v in r.values else "n/a" for v in versions) + " |"
                for r in rrows]
    else:
        out.append("No retriever analysis results were found.")
    out += ["", "## Training (GRPO steps, reward from trainer_state.json)", "",
            "| arm | seed | steps | s/step | first reward | final reward | mean reward | rollouts with demos | retrieval ms/step |",
            "|---|---|---|---|---|---|---|---|---|"]
    for arm, seeds in results.train.items():
        for seed, run in sorted(seeds.items()):
            curve = run.get("reward_curve") or []
            first = f"{curve[0]['reward']:.3f}" if curve else "n/a"
            final = f"{run['final_reward']:.3f}" if run.get("final_reward") is not None else "n/a"
            mean = f"{run['mean_reward']:.3f}" if run.get("mean_reward") is not None else "n/a"
            ret = run.get("retrieval") or {}
            demos = ret.get("retrieval/with_demos")
            lat = ret.get("retrieval/latency_ms")
            step = run.get("step_seconds")
            out.append(f"| {ARM_TITLES.get(arm, arm)} | {seed} | {run.get('global_step', 'n/a')} | "
                       f"{f'{step:.2f}' if step is not None else 'n/a'} | {first} | {final} | {mean} | "
                       f"{pct(demos) + '%' if demos is not None else '-'} | {f'{lat:.0f}' if lat is not None else '-'} |")
    out += step_cost(results)
    out += ["", "## Setup: data, policy, retriever versions, deployment", ""]
    data = results.data or {}
    if data:
        out.append(f"- Benchmark: generator `{data.get('generator')}`, seed {data.get('seed')}, sizes {data.get('sizes')}, "
                   f"{len(data.get('strategies', []))} strategies x {len(data.get('themes', []))} themes.")
    for name, policy in results.policies.items():
        acc = ", ".join(f"{k} {pct(v)}%" for k, v in policy.get("accuracy", {}).items())
        out.append(f"- Warm-started policy `{name}`: {policy.get('num_parameters', '?'):,} parameters, greedy dev accuracy "
                   f"by demonstration: {acc}." if isinstance(policy.get("num_parameters"), int) else f"- Policy `{name}`: {policy}")
    for v, m in results.retriever_versions.items():
        out.append(f"- Retriever {v}: {m.get('num_demonstrations')} demonstrations embedded as "
                   f"{m.get('document_text') or 'problem'}, dim {m.get('dim')}, index {m.get('index_type')}, "
                   f"parent {m.get('parent_version')}, bank sha256 {str(m.get('bank_checksum'))[:12]}, created {m.get('created_at')}.")
    for v1, dep in results.deployments.items():
        out.append(f"- {v1} reached the running service by {dep.get('loaded_by')}; versions served after its deploy: "
                   f"{[v['name'] for v in dep.get('versions', {}).get('versions', [])]}.")
    out.append(f"- Environment: {results.environment}.")
    out += ["", "Preset (the flags given to each command):", "", "```json", json.dumps(results.config, indent=2), "```",
            "", "## Wall time per stage", "", "| stage | seconds | |", "|---|---|---|"]
    for name, t in results.stages.items():
        out.append(f"| {name} | {t.elapsed_s:.1f} | {'reused from an earlier run' if t.skipped else ''} |")
    out += ["", "## Figures", ""] + [f"![{f}](figures/{f})" for f in results.figures]
    return "\n".join(out) + "\n"


def write_report_dir(out: Path, results: Results) -> dict[str, Any]:
    """figures/*.png, results.json and report.md (written last, atomically)."""
    from trainer.experiment.figures import write_figures

    out = Path(out)
    results.figures = write_figures(results, out / "figures")
    atomic_write_text(out / "results.json", results.model_dump_json(indent=2) + "\n")
    atomic_write_text(out / "report.md", render_report(results))
    return {"report": str(out / "report.md"), "results": str(out / "results.json"), "figures": results.figures}
