"""`rarft eval` in resumable batches: the plan does not depend on the process count, an interrupted run resumes
with the same samples, and two processes under `accelerate launch` give what one gives."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shared.cli import main as rarft
from shared.errors import UserError
from trainer.evaluation import batches as B


def test_plan_is_length_sorted_and_fixed():
    lengths = [5, 9, 9, 1, 7]
    assert B.plan_batches(lengths, 2) == [[1, 2], [4, 0], [3]]
    assert B.plan_batches(lengths, 10) == [[1, 2, 4, 0, 3]]
    assert B.batch_seed(7, 0) == 7 and len({B.batch_seed(s, b) for s in range(3) for b in range(50)}) == 150
    with pytest.raises(ValueError):
        B.plan_batches(lengths, 0)


def test_parts_resume_only_with_the_same_fingerprint(tmp_path, capsys):
    parts = B.parts_dir(tmp_path)
    assert B.open_parts(parts, {"k": 2}) is False
    batches = [[0, 1], [2]]
    B.run_batches(parts, batches, [1], lambda idx, b: [{"id": f"p{i}", "b": b} for i in idx])
    assert B.todo_batches(parts, 2) == [0]
    with pytest.raises(UserError, match="missing"):
        B.merge_batches(parts, 2, 3)
    assert B.open_parts(parts, {"k": 2}) is True and B.todo_batches(parts, 2) == [0]
    B.run_batches(parts, batches, [0], lambda idx, b: [{"id": f"p{i}", "b": b} for i in idx])
    assert [r["id"] for r in B.merge_batches(parts, 2, 3)] == ["p0", "p1", "p2"]  # problem order, not batch order
    assert B.open_parts(parts, {"k": 4}) is False  # other settings: the old batches go
    assert "discarding" in capsys.readouterr().out and B.todo_batches(parts, 2) == [0, 1]


EVAL_ARGS = ["--limit", "12", "--k", "2", "--temperature", "0.8", "--max-new-tokens", "16", "--batch-size", "4",
             "--device", "cpu"]  # 2 prompts per batch: 6 batches


def _eval_args(policy: Path, data: Path, out: Path) -> list[str]:
    return ["eval", "--model", str(policy), "--data", str(data / "test.jsonl"), "--out", str(out), *EVAL_ARGS]


def _samples(out: Path) -> list[dict]:
    return sorted((json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()), key=lambda r: r["id"])


def _per_problem(out: Path) -> list[dict]:
    with open(out / "per_problem.csv", newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: r["id"])


@pytest.fixture
def one_thread():
    """One torch thread, as the launcher gives each rank, so every run here uses the same CPU kernels."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_interrupted_eval_resumes_with_the_same_samples(tiny_policy, tiny_data, tmp_path, monkeypatch, capsys,
                                                        one_thread):
    from trainer.evaluation import runner

    full = tmp_path / "full"
    assert rarft(_eval_args(tiny_policy, tiny_data, full)) == 0
    assert not B.parts_dir(full).exists()

    real, calls = runner.score_records, {"n": 0}

    def interrupted(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(runner, "score_records", interrupted)
    assert rarft(_eval_args(tiny_policy, tiny_data, resumed)) == 130  # as Ctrl-C: "rarft eval: interrupted"
    assert B.todo_batches(B.parts_dir(resumed), 6) == [2, 3, 4, 5] and not (resumed / "results.json").exists()
    calls["n"] = -100
    capsys.readouterr()
    assert rarft(_eval_args(tiny_policy, tiny_data, resumed)) == 0
    assert "resuming: 2 of 6 batches" in capsys.readouterr().out and calls["n"] == -100 + 4
    assert _samples(resumed) == _samples(full)
    assert json.loads((resumed / "results.json").read_text())["metrics"] == json.loads((full / "results.json").read_text())["metrics"]
    # sampled (temperature 0.8): the batches were drawn with different seeds, so not every problem repeats one sample
    assert any(len(set(r["completions"])) > 1 for r in _samples(full))


def test_two_processes_give_what_one_gives(tiny_policy, tiny_data, tmp_path, one_thread):
    from tests.trainer.conftest import accelerate_rarft

    one, two = tmp_path / "one", tmp_path / "two"
    assert rarft(_eval_args(tiny_policy, tiny_data, one)) == 0
    accelerate_rarft(_eval_args(tiny_policy, tiny_data, two))
    results = json.loads((two / "results.json").read_text())
    assert results["num_processes"] == 2 and not B.parts_dir(two).exists()
    assert _samples(two) == _samples(one)
    assert _per_problem(two) == _per_problem(one)
    assert results["metrics"] == json.loads((one / "results.json").read_text())["metrics"]
