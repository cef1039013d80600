"""`rarft label`: pools exclude the query, rows are complete, an interrupted run resumes, bad inputs fail clean."""

from __future__ import annotations

import json
import math

import pytest

from shared.contract import Demonstration
from shared.errors import UserError
from tests.trainer.relevance.conftest import label_config


def test_pools_exclude_the_query_and_mix_sources(tiny_data):
    from trainer.relevance.candidates import build_pools
    from shared.rows import read_split

    q = read_split(tiny_data, "train")[0]
    bank = read_split(tiny_data, "bank")[:30]
    twin = Demonstration(id="bank-copy", problem="  " + q.problem.upper() + " ", solution="x", answer="1")
    same_id = Demonstration(id=q.id, problem="something else", solution="x", answer="1")
    semantic = [[(twin, 0.99), (same_id, 0.9), (bank[0], 0.5)]]
    pool = build_pools([q], [twin, same_id, *bank], semantic, num_random=10, seed=3)[0]
    ids = [c.demo.id for c in pool.candidates]
    assert "bank-copy" not in ids and q.id not in ids
    assert len(ids) == len(set(ids)) == 11
    assert [c.source for c in pool.candidates][:1] == ["semantic"]
    again = build_pools([q], [twin, same_id, *bank], semantic, num_random=10, seed=3)[0]
    assert [c.demo.id for c in again.candidates] == ids  # seeded per query: resumable runs see the same pool


def test_empty_pool_is_a_user_error(tiny_data):
    from trainer.relevance.candidates import build_pools
    from shared.rows import read_split

    q = read_split(tiny_data, "train")[0]
    with pytest.raises(UserError, match="empty"):
        build_pools([q], [q], None, num_random=4, seed=0)


def test_label_writes_complete_rows_and_resumes(tiny_policy, tiny_data, tiny_registry, tmp_path, monkeypatch, capsys):
    from trainer.relevance import labels as L
    from trainer.relevance.labeling import run_label

    out = tmp_path / "labels.jsonl"
    cfg = label_config(tiny_policy, tiny_data, tiny_registry / "v0-semantic", out)

    # Interrupt after the first shard (2 queries): the file must not exist, the shard must.
    real_write = L.ShardWriter.write
    calls = {"n": 0}

    def failing_write(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_write(self, rows)

    monkeypatch.setattr(L.ShardWriter, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        run_label(cfg)
    assert not out.exists()
    assert len(L.read_shards(L.parts_dir(out))) == 2 * 6  # 2 queries x (2 semantic + 4 random)
    monkeypatch.setattr(L.ShardWriter, "write", real_write)

    # Resume: only the 4 remaining queries are scored.
    from trainer.relevance import benefit as B

    scored = []
    real_score = B.BenefitScorer.score
    monkeypatch.setattr(B.BenefitScorer, "score", lambda self, pairs, progress=None: scored.extend(pairs) or real_score(self, pairs, progress))
    stats = run_label(cfg)
    assert "resuming: 2 of 6" in capsys.readouterr().out
    assert len({q.id for q, _ in scored}) == 4
    assert out.is_file() and not L.parts_dir(out).exists()

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 * 6 and stats["labels/queries"] == 6
    by_query: dict[str, list[dict]] = {}
    for r in rows:
        by_query.setdefault(r["query_id"], []).append(r)
        assert math.isfinite(r["benefit"]) and r["benefit"] == pytest.approx(r["logprob"] - r["baseline"])
        assert r["same_strategy"] == (r["query_strategy"] == r["candidate_strategy"])
        assert r["candidate_id"] != r["query_id"]
    for group in by_query.values():
        assert sorted(r["source"] for r in group) == ["random"] * 4 + ["semantic"] * 2
        assert len({r["baseline"] for r in group}) == 1

    # A fresh, uninterrupted run gives the same labels.
    fresh = tmp_path / "fresh.parquet"
    run_label(label_config(tiny_policy, tiny_data, tiny_registry / "v0-semantic", fresh))
    from trainer.relevance.labels import read_labels

    key = lambda r: (r["query_id"], r["candidate_id"])  # noqa: E731
    for a, b in zip(sorted(rows, key=key), sorted(read_labels(fresh), key=key)):
        assert key(a) == key(b) and a["benefit"] == pytest.approx(b["benefit"], abs=1e-4)


def test_resume_with_other_settings_is_refused(tiny_policy, tiny_data, tiny_registry, tmp_path):
    from trainer.relevance.labels import ShardWriter

    out = tmp_path / "labels.jsonl"
    cfg = label_config(tiny_policy, tiny_data, tiny_registry / "v0-semantic", out)
    from trainer.relevance.labeling import _fingerprint

    ShardWriter(out, {**_fingerprint(cfg), "seed": 99})
    from trainer.relevance.labeling import run_label

    with pytest.raises(UserError, match="different settings.*seed"):
        run_label(cfg)


def test_existing_output_is_not_overwritten(tiny_policy, tiny_data, tiny_registry, tmp_path):
    from trainer.relevance.labeling import run_label

    out = tmp_path / "labels.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(UserError, match="already exists"):
        run_label(label_config(tiny_policy, tiny_data, tiny_registry / "v0-semantic", out))
    assert out.read_text() == "keep me\n"


def test_label_cli_needs_a_retriever(tmp_path):
    from shared.cli import main

    assert main(["label", "--policy", "p", "--data", str(tmp_path), "--out", str(tmp_path / "l.jsonl")]) == 2
