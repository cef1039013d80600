"""matplotlib figures (Agg backend, files only): reward curves, accuracy per arm with spread, retrievers."""

from __future__ import annotations

from pathlib import Path

from trainer.experiment.schema import Results

ARM_COLORS = {"base": "#888888", "grpo": "#1f77b4", "semantic": "#ff7f0e", "ra-rft": "#2ca02c"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _running_mean(values: list[float], window: int) -> list[float]:
    """Trailing mean over the last `window` steps (fewer at the start): a step's reward is the mean of a few
    prompts' samples, far noisier than the trend the figure is read for."""
    import numpy as np

    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return list((sums[ends] - sums[starts]) / (ends - starts))


def reward_curves(results: Results, path: Path) -> Path:
    """Each seed's per-step reward (faint) and its running mean over an eighth of the run (bold)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    window = 1
    for arm, seeds in results.train.items():
        for i, (seed, run) in enumerate(sorted(seeds.items())):
            curve = run.get("reward_curve") or []
            if not curve:
                continue
            steps, rewards = [c["step"] for c in curve], [c["reward"] for c in curve]
            window = max(1, len(curve) // 8)
            color = ARM_COLORS.get(arm)
            ax.plot(steps, rewards, color=color, alpha=0.15, linewidth=0.8)
            ax.plot(steps, _running_mean(rewards, window), color=color, linewidth=2, alpha=0.9 if i == 0 else 0.6,
                    label=arm if i == 0 else None)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("mean training reward")
    ax.set_title(f"Training reward per arm (every seed; bold: mean of the last {window} steps)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def accuracy_bars(results: Results, path: Path) -> Path:
    plt = _plt()
    metric = results.primary_metric
    rows = [r for r in results.table if metric in r.metrics]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.8 * len(rows) + 2), 4))
    for i, r in enumerate(rows):
        m = r.metrics[metric]
        ax.bar(i, m.mean, yerr=m.std if m.n > 1 else None, capsize=4, color=ARM_COLORS.get(r.arm),
               alpha=1.0 if r.retrieval != "none" else 0.55)
        ax.scatter([i] * len(m.values), m.values, color="black", s=10, zorder=3)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r.arm}\n{r.retrieval}" for r in rows], fontsize=8)
    ax.set_ylabel(f"{metric} on the {results.eval_split} split")
    ax.set_title(f"{metric} per arm and retrieval condition (bars: mean ± std; dots: seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def retriever_bars(results: Results, path: Path) -> Path:
    """One panel per metric (their scales differ): semantic v0 beside distilled v1."""
    plt = _plt()
    rows = [(r.label, r.values) for r in results.retriever_rows] or [("no retriever analysis", {})]
    versions = list(results.retrievers)
    fig, axes = plt.subplots(1, len(rows), figsize=(2.6 * len(rows) + 0.6, 3.6), squeeze=False)
    for ax, (label, by_version) in zip(axes[0], rows):
        values = [by_version.get(v, float("nan")) for v in versions]
        ax.bar(range(len(versions)), values, color=["#ff7f0e", "#2ca02c", "#9467bd"][: len(versions)])
        ax.set_xticks(range(len(versions)))
        ax.set_xticklabels(versions)
        ax.set_title(label, fontsize=8, wrap=True)
        for i, v in enumerate(values):
            ax.annotate(f"{v:.3f}", (i, v), ha="center", va="bottom", fontsize=7)
    fig.suptitle("Retrievers on held-out queries: semantic (v0) vs distilled (v1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def forest_plot(results: Results, path: Path) -> Path:
    """The paired differences with their CIs, one row per comparison, zero marked: the verdict at a glance."""
    plt = _plt()
    comps = results.comparisons
    fig, ax = plt.subplots(figsize=(8.4, 0.6 * max(len(comps), 1) + 1.4))
    colors = {"primary": "#2ca02c", "secondary": "#1f77b4", "descriptive": "#888888"}
    for y, c in enumerate(reversed(comps)):
        ax.errorbar(100 * c.estimate, y, xerr=[[100 * (c.estimate - c.ci_low)], [100 * (c.ci_high - c.estimate)]],
                    fmt="o", color=colors.get(c.kind, "black"), capsize=4)
    ax.axvline(0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(comps)))
    ax.set_yticklabels([f"{c.arm_title} − {c.baseline_title}" for c in reversed(comps)], fontsize=8)
    ax.set_xlabel(f"difference in {results.primary_metric or 'avg@k'} (points), 95% CI")
    ax.set_title("Paired differences; bootstrap over seeds, templates, problems", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_figures(results: Results, directory: Path) -> list[str]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    made = [reward_curves(results, directory / "reward_curves.png"),
            accuracy_bars(results, directory / "accuracy.png"),
            forest_plot(results, directory / "forest.png"),
            retriever_bars(results, directory / "retrievers.png")]
    return [p.name for p in made]
