"""`rarft distill` refuses bad labels with one clear error and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import UserError


def _write_labels(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _good_rows(tiny_data: Path, n_queries: int = 6, n_cands: int = 3) -> list[dict]:
    from shared.rows import read_split

    train, bank = read_split(tiny_data, "train"), read_split(tiny_data, "bank")
    return [{"query_id": q.id, "candidate_id": d.id, "benefit": 0.1 * j, "baseline": -1.0}
            for q in train[:n_queries] for j, d in enumerate(bank[:n_cands])]


@pytest.mark.parametrize("case, match", [
    ("unknown_query", "not in the train split"),
    ("unknown_candidate", "not in the bank"),
    ("nan_benefit", "non-finite benefit"),
    ("single_candidate", "at least 2 per query"),
    ("missing_column", "lack the column"),
    ("empty", "no rows|cannot read|lack the column"),
])
def test_bad_labels(case, match, tiny_data, tiny_registry, tmp_path):
    from trainer.relevance.distill import DistillConfig, run_distill

    rows = _good_rows(tiny_data)
    if case == "unknown_query":
        rows[0]["query_id"] = "nope"
    elif case == "unknown_candidate":
        rows[-1]["candidate_id"] = "bank-missing"
    elif case == "nan_benefit":
        rows[2]["benefit"] = float("nan")
    elif case == "single_candidate":
        rows = [r for r in rows if not (r["query_id"] == rows[0]["query_id"] and r is not rows[0])]
    elif case == "missing_column":
        rows = [{k: v for k, v in r.items() if k != "baseline"} for r in rows]
    elif case == "empty":
        rows = []
    labels = _write_labels(tmp_path / "labels.jsonl", rows)
    out = tmp_path / "registry" / "v1"
    cfg = DistillConfig(labels=labels, data=tiny_data, parent=tiny_registry / "v0-semantic", out=out, progress=False)
    with pytest.raises(UserError, match=match):
        run_distill(cfg)
    assert not out.exists()
    assert not any(p.name.startswith(".v1") for p in out.parent.glob("*")) if out.parent.exists() else True


def test_existing_version_is_refused(tiny_data, tiny_registry, tmp_path):
    from trainer.relevance.distill import DistillConfig, run_distill

    labels = _write_labels(tmp_path / "labels.jsonl", _good_rows(tiny_data))
    with pytest.raises(UserError, match="already exists"):
        run_distill(DistillConfig(labels=labels, data=tiny_data, parent=tiny_registry / "v0-semantic",
                                  out=tiny_registry / "v0-semantic", progress=False))


def test_cli_reports_one_line(tiny_data, tiny_registry, tmp_path, capsys):
    from shared.cli import main

    labels = _write_labels(tmp_path / "labels.jsonl", [{"query_id": "x", "candidate_id": "y", "benefit": 1.0, "baseline": 0.0}])
    code = main(["distill", "--labels", str(labels), "--data", str(tiny_data), "--parent",
                 str(tiny_registry / "v0-semantic"), "--out", str(tmp_path / "v1")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rarft distill: error:") and "not in the train split" in last


def test_teacher_rows_put_the_best_candidate_first(tiny_data):
    from shared.rows import by_id, read_split
    from trainer.relevance.distill import DistillConfig, build_rows

    rows = _good_rows(tiny_data, n_queries=2, n_cands=5)
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["query_id"], []).append(r)
    cfg = DistillConfig(labels=Path("l"), data=tiny_data, parent=Path("p"), out=Path("o"), max_candidates=4)
    out = build_rows(groups, by_id(read_split(tiny_data, "train"), "t"), by_id(read_split(tiny_data, "bank"), "b"), cfg)
    assert len(out) == 2 and set(out[0]) == {"query", "cand_0", "cand_1", "cand_2", "cand_3", "label"}
    bank = by_id(read_split(tiny_data, "bank"), "b")
    best = max(groups[sorted(groups)[0]], key=lambda r: r["benefit"])
    assert out[0]["cand_0"] == bank[best["candidate_id"]].problem
    assert out[0]["label"] == sorted(out[0]["label"], reverse=True) and abs(sum(out[0]["label"])) < 1e-9  # z-scored


def test_labels_of_another_split_need_that_split_and_held_out_splits_are_refused(tiny_data, tiny_registry, tmp_path):
    """Queries labelled from the RL rows distil with --split rl; dev and test are never distillation queries."""
    from pydantic import ValidationError

    from shared.rows import read_split
    from trainer.relevance.distill import DistillConfig, run_distill

    bank = read_split(tiny_data, "bank")
    rows = [{"query_id": q.id, "candidate_id": d.id, "benefit": 0.1 * j, "baseline": -1.0}
            for q in read_split(tiny_data, "rl")[:6] for j, d in enumerate(bank[:3])]
    rows[-1]["candidate_id"] = "bank-missing"  # stops run_distill right after the query check, before any training
    labels = _write_labels(tmp_path / "labels.jsonl", rows)
    args = dict(labels=labels, data=tiny_data, parent=tiny_registry / "v0-semantic", out=tmp_path / "v1", progress=False)
    with pytest.raises(UserError, match="not in the train split"):
        run_distill(DistillConfig(**args))
    with pytest.raises(UserError, match="not in the bank"):  # the rl queries are found
        run_distill(DistillConfig(**args, split="rl"))
    for held_out in ("dev", "test"):
        with pytest.raises(ValidationError, match="held out"):
            DistillConfig(**args, split=held_out)


def test_the_student_learns_and_indexes_the_documents_its_parent_embeds(tiny_data, minilm, tmp_path):
    """A parent that embeds question + solution: the teacher rows' candidates and the new version's index hold
    documents of that kind, and the new manifest says so."""
    import numpy as np

    from shared.rows import by_id, read_split
    from shared.versions import build_version, load_version
    from trainer.relevance.distill import DistillConfig, build_rows, run_distill

    rows = _good_rows(tiny_data, n_queries=6, n_cands=4)
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["query_id"], []).append(r)
    bank = by_id(read_split(tiny_data, "bank"), "b")
    cfg = DistillConfig(labels=Path("l"), data=tiny_data, parent=Path("p"), out=Path("o"), max_candidates=4)
    out = build_rows(groups, by_id(read_split(tiny_data, "train"), "t"), bank, cfg, "problem_solution")
    best = bank[max(groups[sorted(groups)[0]], key=lambda r: r["benefit"])["candidate_id"]]
    assert out[0]["cand_0"] == f"{best.problem}\n{best.solution}"

    parent = tmp_path / "registry" / "v0"
    build_version(minilm, Path(tiny_data) / "bank.jsonl", parent, show_progress=False, document_text="problem_solution")
    labels = _write_labels(tmp_path / "labels.jsonl", rows)
    manifest = run_distill(DistillConfig(labels=labels, data=tiny_data, parent=parent, out=tmp_path / "registry" / "v1",
                                         epochs=1, batch_size=4, eval_corpus_size=40, variants=["kl"],
                                         progress=False, num_threads=2, report_to=["none"]))
    assert manifest["document_text"] == "problem_solution"
    child = load_version(tmp_path / "registry" / "v1")
    first = child.bank[:3]
    stored = np.stack([child.index.reconstruct(i) for i in range(3)])
    assert np.allclose(stored, child.encode([child.document(r) for r in first]), atol=1e-5)
