"""The evaluation loop with a scripted generator and retriever: metrics, exclusion and output files agree."""

import csv
import json

import pytest

from shared.contract import Demonstration
from shared.errors import UserError
from trainer.evaluation.config import EvalConfig
from trainer.evaluation.runner import evaluate, read_eval_problems, write_outputs


def rows():
    return [Demonstration(id=f"q{i}", problem=f"problem {i}", solution="s", answer=str(i), strategy="ab"[i % 2])
            for i in range(4)]


def scripted_generate(prompts, k):
    # problem i: the first i samples are right (clamped to k), the rest wrong; demos make sample 0 right.
    out = []
    for p in prompts:
        i = int(p.split("problem ")[-1])
        good = min(i + ("DEMO" in p), k)
        out.append([f"... \\boxed{{{i}}}"] * good + ["... \\boxed{-1}"] * (k - good))
    return out


def render(problem, demos):
    return ("DEMO " * len(demos)) + problem


def test_evaluate_without_and_with_retrieval(tmp_path):
    base = evaluate(rows(), scripted_generate, render, k=4, pass_ks=[1, 2])
    assert base["summary"]["overall"]["avg@4"] == pytest.approx((0 + 1 + 2 + 3) / 16)
    assert base["summary"]["overall"]["demo_strategy_match"] is None
    seen = []

    def retrieve(batch):
        seen.extend(r.id for r in batch)
        return [[Demonstration(id="d", problem="x", answer="1", strategy="a")] for _ in batch]

    rag = evaluate(rows(), scripted_generate, render, k=4, pass_ks=[1], retrieve=retrieve)
    assert seen == ["q0", "q1", "q2", "q3"]
    assert rag["summary"]["overall"]["avg@4"] == pytest.approx((1 + 2 + 3 + 4) / 16)
    assert rag["summary"]["overall"]["pass@4"] == pytest.approx(1.0)
    assert rag["summary"]["overall"]["demo_strategy_match"] == pytest.approx(0.5)
    assert rag["summary"]["per_strategy"]["b"]["avg@4"] == pytest.approx((2 + 4) / 8)

    payload = write_outputs(tmp_path, rag, {"config": {"k": 4}})
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["metrics"] == payload["metrics"]
    summary = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert summary[0]["strategy"] == "ALL" and float(summary[0]["avg@4"]) == pytest.approx(on_disk["metrics"]["avg@4"])
    per_problem = list(csv.DictReader((tmp_path / "per_problem.csv").open()))
    assert [int(r["num_correct"]) for r in per_problem] == [1, 2, 3, 4]
    assert len((tmp_path / "samples.jsonl").read_text().splitlines()) == 4


def test_read_problems_and_config_validation(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in rows()))
    assert [r.id for r in read_eval_problems(path, limit=2)] == ["q0", "q1"]
    with pytest.raises(UserError):
        read_eval_problems(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError):
        EvalConfig(model="m", data=path, out=tmp_path, k=2, pass_k=[4])
    with pytest.raises(ValueError):
        EvalConfig(model="m", data=path, out=tmp_path, retriever_version="v0")


@pytest.mark.parametrize("name,fmt", [("math.jsonl", "auto"), ("aime.csv", "aime"), ("gsm8k.jsonl", "gsm8k")])
def test_real_formats_go_through_the_data_loaders(name, fmt):
    from pathlib import Path

    import trainer.data

    path = Path(trainer.data.__file__).parent / "samples" / name
    rows = read_eval_problems(path, fmt, limit=3)
    assert 1 <= len(rows) <= 3 and all(r.problem and r.answer for r in rows)
