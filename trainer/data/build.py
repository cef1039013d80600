"""Build a data dir: the generated splits, their checksums, balance statistics and the semantic check.

Shared by `rarft data` and the `tiny_data` test fixture, so tests see exactly what the command writes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.artifacts import MANIFEST_NAME, atomic_dir, checksum_tree, read_json, verify_checksums, write_manifest
from shared.contract import Demonstration
from shared.errors import UserError
from shared.manifests import DataManifest
from trainer.data.benchmark import EVAL_SPLITS, GENERATOR, SPLITS, generate_benchmark
from shared.rows import write_rows
from shared.text import problem_hash
from trainer.data.splits import check_no_leakage, exact_copies, leakage_report
from trainer.data.strategies import STRATEGY_NAMES
from trainer.data.themes import THEME_NAMES

log = logging.getLogger(__name__)


def cramers_v(rows: Sequence[Demonstration], a: str = "theme", b: str = "strategy") -> tuple[float, float]:
    """Chi-square statistic of the a x b contingency table and Cramér's V (0 = independent, 1 = determined)."""
    counts = Counter((getattr(r, a), getattr(r, b)) for r in rows)
    ra, rb = Counter(getattr(r, a) for r in rows), Counter(getattr(r, b) for r in rows)
    n = len(rows)
    chi2 = 0.0
    for x in ra:
        for y in rb:
            expected = ra[x] * rb[y] / n
            chi2 += (counts[(x, y)] - expected) ** 2 / expected
    dof_min = min(len(ra), len(rb)) - 1
    return chi2, (chi2 / (n * dof_min)) ** 0.5 if dof_min > 0 else 0.0


def split_stats(splits: Mapping[str, Sequence[Demonstration]]) -> dict[str, Any]:
    stats: dict[str, Any] = {"leakage": leakage_report(splits)}
    for name, rows in splits.items():
        chi2, v = cramers_v(rows)
        words = [len(r.problem.split()) for r in rows]
        stats[name] = {
            "rows": len(rows),
            "twins": sum("twin_of" in r.metadata for r in rows),
            "wordings": dict(sorted(Counter(str(r.metadata["wording"]) for r in rows if "wording" in r.metadata).items())),
            "theme_strategy_chi2": round(chi2, 3),
            "theme_strategy_cramers_v": round(v, 4),
            "problem_words_mean": round(sum(words) / max(len(words), 1), 2),
            "problem_words_max": max(words, default=0),
            "answer_max": max((int(r.answer) for r in rows if r.answer.lstrip("-").isdigit()), default=0),
            "strategies": dict(sorted(Counter(r.strategy for r in rows).items())),
        }
    return stats


def existing_manifest(out: Path, config: Mapping[str, Any]) -> DataManifest | None:
    """The manifest of a complete, unmodified data dir built with this config, else None."""
    if not (out / MANIFEST_NAME).is_file():
        return None
    try:
        manifest = DataManifest.model_validate(read_json(out / MANIFEST_NAME))
    except Exception:  # an unreadable manifest means "rebuild", not "crash"
        return None
    if manifest.stats.get("config") != dict(config) or verify_checksums(out, manifest.files):
        return None
    if not manifest.generator.startswith("file:") and manifest.generator != GENERATOR:  # another benchmark version
        return None
    return manifest


def _semantic_stats(encoder_path: str, splits: Mapping[str, Sequence[Demonstration]], k: int,
                    show_progress: bool = False) -> dict[str, Any]:
    """Semantic strategy-/theme-match@k of dev and of test queries against the bank, each reported on its own."""
    from shared.models import load_encoder
    from trainer.data.semantic_check import semantic_match

    encoder = load_encoder(encoder_path)
    out: dict[str, Any] = {"encoder": encoder_path, "k": k}
    for name in EVAL_SPLITS:
        if splits.get(name):
            log.info("measuring semantic match@%d of %s on %d %s queries", k, encoder_path, len(splits[name]), name)
            out[name] = semantic_match(encoder, splits[name], splits["bank"], k, show_progress)
    return out


def build_dataset(out: Path, seed: int, sizes: Mapping[str, int], semantic: str | None = None, k: int = 4,
                  config: Mapping[str, Any] | None = None, show_progress: bool = False,
                  rl_wordings: int = 1) -> DataManifest:
    """Generate the benchmark into `out` atomically (temp dir + rename); `semantic` = encoder path to check."""
    out = Path(out)
    splits = generate_benchmark(seed, sizes, rl_wordings)
    check_no_leakage(splits)
    stats = split_stats(splits)
    stats["exact_copies"] = copies = exact_copies(splits, EVAL_SPLITS)
    if any(copies.values()):  # the generator's held-out solution space makes this impossible; a bug if it happens
        raise RuntimeError(f"dev/test rows with a worked solution another split has: {copies}")
    stats["config"] = dict(config or {"seed": seed, "sizes": dict(sizes)})
    if semantic is not None:
        stats["semantic"] = _semantic_stats(semantic, splits, k, show_progress)
    with atomic_dir(out, overwrite=True) as tmp:
        for name in SPLITS:
            write_rows(tmp / f"{name}.jsonl", splits[name])
        manifest = DataManifest(
            generator=GENERATOR, seed=seed, sizes={n: len(splits[n]) for n in SPLITS}, files=checksum_tree(tmp),
            strategies=list(STRATEGY_NAMES), themes=list(THEME_NAMES), stats=stats,
        )
        write_manifest(tmp, manifest)
    return manifest


def scaled_sizes(sizes: Mapping[str, int], available: int) -> dict[str, int]:
    """The requested sizes, shrunk proportionally when the source has fewer distinct problems."""
    total = sum(sizes.values())
    if total <= available:
        return dict(sizes)
    scaled = {name: max(1, n * available // total) for name, n in sizes.items()}
    if sum(scaled.values()) > available:
        raise UserError(f"only {available} distinct problems: too few for {len(sizes)} non-empty splits")
    return scaled


def _read_source(spec: Any, claimed: Mapping[str, str]) -> tuple[list[Demonstration], Any]:
    """A source's distinct problems that no split read before it holds, and its LoadSummary counting the rest."""
    from trainer.data.loaders import load_problems
    from trainer.data.splits import dedupe

    rows, summary = load_problems(spec.source, spec.format, spec.columns, spec.split, spec.subset)
    rows, duplicates = dedupe(rows)
    summary.drop("duplicate problems", duplicates)
    fresh = []
    for row in rows:
        owner = claimed.get(problem_hash(row.problem))
        if owner is None:
            fresh.append(row)
        else:
            summary.drop(f"problems {owner} holds")
    return fresh, summary


def build_from_sources(out: Path, pooled: Any | None, own: Mapping[str, Any], sizes: Mapping[str, int], seed: int,
                       semantic: str | None = None, k: int = 4,
                       config: Mapping[str, Any] | None = None) -> DataManifest:
    """A data dir from real problem sets: each split in `own` read whole from its own source (an official test
    set stays as it is), the rest drawn leakage-safely from `pooled`. Sources are `SourceSpec`s.

    Test is read first, then dev, rl, train, bank: a problem an earlier split holds is dropped from every later
    one, so no training or bank row repeats an evaluation problem whichever corpus it came from."""
    from trainer.data.splits import split_rows

    splits: dict[str, list[Demonstration]] = {}
    claimed: dict[str, str] = {}
    lines = []
    for name in reversed(SPLITS):
        if name not in own:
            continue
        spec = own[name]
        rows, summary = _read_source(spec, claimed)
        if spec.size is not None:  # the first rows in source order
            summary.drop("beyond its size", max(0, len(rows) - spec.size))
            rows = rows[: spec.size]
        if not rows:
            raise UserError(f"--{name}-source {spec.source}: no rows left for {name} ({summary.line()})")
        splits[name] = rows
        claimed.update((problem_hash(r.problem), name) for r in rows)
        lines.append(f"{name}: {summary.line()}")
    drawn = [name for name in SPLITS if name not in own]
    if drawn:
        fresh, summary = _read_source(pooled, claimed)
        wanted = scaled_sizes({n: sizes[n] for n in drawn}, len(fresh))
        parts, _ = split_rows(fresh, wanted, seed)
        summary.drop("not needed for the requested sizes", len(fresh) - sum(len(v) for v in parts.values()))
        splits.update(parts)
        lines.append((f"{', '.join(drawn)}: " if own else "") + summary.line())
    splits = {name: splits[name] for name in SPLITS}
    ids = [r.id for part in splits.values() for r in part]
    if len(ids) != len(set(ids)):  # two sources numbered their rows alike: ids made unique with the split prefix
        splits = {n: [r.model_copy(update={"id": f"{n}-{i:05d}"}) for i, r in enumerate(part)] for n, part in splits.items()}
    check_no_leakage(splits)
    stats: dict[str, Any] = {"leakage": leakage_report(splits), "config": dict(config or {}),
                             "loading": "; ".join(lines), "requested_sizes": dict(sizes),
                             "exact_copies": exact_copies(splits, EVAL_SPLITS)}
    for name, part in splits.items():
        stats[name] = {"rows": len(part), "twins": 0}
    if semantic is not None and all(r.strategy for p in splits.values() for r in p):
        stats["semantic"] = _semantic_stats(semantic, splits, k)
    origins = [f"{n}={own[n].source}" for n in SPLITS if n in own] + ([f"{'+'.join(drawn)}={pooled.source}"] if drawn else [])
    with atomic_dir(Path(out), overwrite=True) as tmp:
        for name in SPLITS:
            write_rows(tmp / f"{name}.jsonl", splits[name])
        manifest = DataManifest(
            generator="file:" + (", ".join(origins) if own else pooled.source), seed=seed,
            sizes={n: len(splits[n]) for n in SPLITS}, files=checksum_tree(tmp),
            strategies=sorted({r.strategy for p in splits.values() for r in p if r.strategy}),
            themes=sorted({r.theme for p in splits.values() for r in p if r.theme}), stats=stats,
        )
        write_manifest(tmp, manifest)
    return manifest
