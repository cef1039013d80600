"""Loaders: GSM8K / MATH / AIME-style files (JSONL, CSV, parquet) load without code changes; bad files fail
with one clear error naming file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import UserError
from trainer.data.loaders import SAMPLES_DIR, load_problems
from trainer.prompting import format_completion
from trainer.verify import is_correct


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_gsm8k_sample():
    rows, summary = load_problems(SAMPLES_DIR / "gsm8k.jsonl")
    assert summary.format == "gsm8k" and summary.loaded == summary.rows_read == len(rows) == 20
    first = rows[0]
    assert first.answer == "29" and "####" not in first.solution and "<<" not in first.solution
    assert rows[4].answer == "3000"  # "#### 3,000": thousands separators removed
    assert all(is_correct(format_completion(r.solution, r.answer), r.answer) for r in rows)


def test_math_sample_and_boxed_fallback(tmp_path):
    rows, summary = load_problems(SAMPLES_DIR / "math.jsonl", fmt="math")
    assert summary.format == "math" and len(rows) == 20
    from trainer.verify import extract_boxed

    assert all(extract_boxed(r.solution) == r.answer for r in rows)  # each sample's answer is its boxed one
    assert rows[3].answer == "\\frac{5}{6}" and rows[0].metadata["type"] == "Number Theory"
    no_answer = _jsonl(tmp_path / "m.jsonl", [{"problem": "1+1?", "solution": "So $\\boxed{2}$."}])
    rows, _ = load_problems(no_answer, fmt="math")
    assert rows[0].answer == "2"


def test_aime_sample_csv_and_parquet(tmp_path):
    rows, summary = load_problems(SAMPLES_DIR / "aime.csv")
    assert summary.format == "aime" and len(rows) == 20 and [r.answer for r in rows[:5]] == ["24", "19", "36", "49", "9"]
    assert all(0 <= int(r.answer) <= 999 for r in rows)  # AIME answers are integers 0..999
    assert rows[0].id == "aime-sample-1" and rows[0].solution == ""
    import pandas as pd

    parquet = tmp_path / "aime.parquet"
    pd.read_csv(SAMPLES_DIR / "aime.csv").to_parquet(parquet)
    again, _ = load_problems(parquet, fmt="aime")
    assert [r.problem for r in again] == [r.problem for r in rows]


def test_explicit_column_mapping(tmp_path):
    path = _jsonl(tmp_path / "custom.jsonl", [{"q": "What is 2+3?", "final": 5, "steps": "2 + 3 = 5", "kind": "add"}])
    rows, _ = load_problems(path, columns={"problem": "q", "answer": "final", "solution": "steps", "strategy": "kind"})
    assert (rows[0].problem, rows[0].answer, rows[0].solution, rows[0].strategy) == ("What is 2+3?", "5", "2 + 3 = 5", "add")


def test_demonstration_files_round_trip(tiny_data):
    rows, summary = load_problems(tiny_data / "test.jsonl", fmt="demonstration")
    assert summary.loaded == 60 and rows[0].strategy and rows[0].theme and rows[0].solution


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        ([{"question": "a?", "answer": "no tail"}], "gsm8k", r"row 1, column 'answer': no '#### N'"),
        ([{"problem": "a?", "answer": "1"}, {"problem": "b?", "answer": ""}], "aime", r"row 2, column 'answer': empty"),
        ([{"problem": "a?", "answer": "1"}, {"problem": "", "answer": "2"}], "aime", r"row 2, column 'problem': empty"),
        ([{"question": "a?", "answer": "#### 1"}], "aime", r"missing column 'problem'"),
        ([{"problem": "a?", "solution": "no box"}], "math", r"row 1, column 'solution': no answer column and no"),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path, content, fmt, message):
    path = _jsonl(tmp_path / "bad.jsonl", content)
    with pytest.raises(UserError, match=message) as info:
        load_problems(path, fmt=fmt)
    assert str(path) in str(info.value)


def test_malformed_files(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"problem": "a?", "answer": "1"}\n{"problem": "b?", "answer": \n')
    with pytest.raises(UserError, match=r"broken.jsonl: row 2 is not valid JSON"):
        load_problems(broken)
    with pytest.raises(UserError, match="file not found"):
        load_problems(tmp_path / "missing.jsonl")
    odd = tmp_path / "data.txt"
    odd.write_text("x")
    with pytest.raises(UserError, match="unsupported file type"):
        load_problems(odd)
    csv = tmp_path / "gaps.csv"
    csv.write_text("problem,answer\nWhat is 1+1?,2\nWhat is 2+2?\n")
    with pytest.raises(UserError, match=r"gaps.csv: row 2, column 'answer': empty"):
        load_problems(csv)
    with pytest.raises(UserError, match="cannot guess the format"):
        load_problems(_jsonl(tmp_path / "odd.jsonl", [{"text": "a", "label": 1}]))


def test_real_data_sources_globs_saved_datasets_and_missing_files(tmp_path, monkeypatch):
    import datasets

    rows = [{"problem": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(6)]
    for part in range(2):  # a sharded parquet set, as the hub's datasets ship
        datasets.Dataset.from_list(rows[3 * part:3 * part + 3]).to_parquet(str(tmp_path / f"train-{part}.parquet"))
    loaded, summary = load_problems(str(tmp_path / "train-*.parquet"), fmt="aime")
    assert [r.answer for r in loaded] == [r["answer"] for r in rows] and summary.loaded == 6

    saved = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows), "test": datasets.Dataset.from_list(rows[:2])}
                         ).save_to_disk(str(saved))
    assert len(load_problems(str(saved), fmt="aime", split="test")[0]) == 2
    with pytest.raises(UserError, match=r"has splits \['test', 'train'\]; choose one with --split"):
        load_problems(str(saved), fmt="aime", split="validation")
    with pytest.raises(UserError, match="no file matches"):
        load_problems(str(tmp_path / "nope-*.parquet"))
    with pytest.raises(UserError, match=r"^file not found: notes.txt \(hub datasets are named OWNER/NAME"):
        load_problems("notes.txt")  # a local name, never sent to the hub

    calls = []  # no hub here: check only that a hub id's subset and split reach datasets.load_dataset
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: calls.append((a, kw)) or datasets.Dataset.from_list(rows))
    load_problems("openai/gsm8k", fmt="aime", split="test", subset="main")
    assert calls == [(("openai/gsm8k", "main"), {"split": "test"})]


def test_name_config_on_a_local_dataset_repository(tmp_path):
    """`--source NAME:CONFIG` through datasets' own config handling, on a folder laid out as a hub dataset repo."""
    repo = tmp_path / "gsm8k_like"
    card = ["---", "configs:"]
    for config, n in (("main", 3), ("socratic", 2)):
        (repo / config).mkdir(parents=True)
        rows = [{"question": f"What is {i} + {i}?", "answer": f"double it\n#### {2 * i}"} for i in range(n)]
        (repo / config / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        card += [f"- config_name: {config}", "  data_files:", "  - split: test", f"    path: {config}/test.jsonl"]
    (repo / "README.md").write_text("\n".join(card + ["---", ""]))

    assert len(load_problems(f"{repo}:main", fmt="gsm8k", split="test")[0]) == 3
    assert len(load_problems(str(repo), fmt="gsm8k", split="test", subset="socratic")[0]) == 2
    with pytest.raises(UserError, match=r"has configs main, socratic: choose one as .*:CONFIG \(or --subset\)$"):
        load_problems(str(repo), fmt="gsm8k", split="test")
    with pytest.raises(UserError, match=r"has no config 'nope'; its configs: main, socratic$"):
        load_problems(f"{repo}:nope", fmt="gsm8k", split="test")
    with pytest.raises(UserError, match="names config 'main' but --subset is 'socratic'"):
        load_problems(f"{repo}:main", fmt="gsm8k", split="test", subset="socratic")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="neither a `datasets` save_to_disk folder nor a dataset repository"):
        load_problems(str(tmp_path / "empty"))
