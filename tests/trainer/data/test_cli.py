"""`rarft data` end to end: files, manifest, printed summary, reuse, --overwrite, --source, bad input."""

from __future__ import annotations

import json

import pytest

from shared.artifacts import verify_checksums
from shared.cli import main as rarft
from shared.manifests import DataManifest
from trainer.data.benchmark import GENERATOR
from shared.rows import read_rows
from trainer.data.loaders import SAMPLES_DIR

TINY = ["--bank-size", "240", "--train-size", "120", "--rl-size", "60", "--dev-size", "30", "--test-size", "60", "--seed", "5"]


def _manifest(out):
    return DataManifest.model_validate_json((out / "manifest.json").read_text())


def test_writes_splits_and_manifest_then_reuses(tmp_path, capsys):
    out = tmp_path / "data"
    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check"]) == 0
    printed = capsys.readouterr().out
    manifest = _manifest(out)
    assert sorted(p.name for p in out.iterdir()) == ["bank.jsonl", "dev.jsonl", "manifest.json", "rl.jsonl", "test.jsonl",
                                                      "train.jsonl"]
    assert manifest.sizes == {"bank": 240, "train": 120, "rl": 60, "dev": 30, "test": 60} and manifest.seed == 5
    assert verify_checksums(out, manifest.files) == []
    for name, size in manifest.sizes.items():
        assert len(read_rows(out / f"{name}.jsonl")) == size
        assert f"{size} rows  sha256 {manifest.files[f'{name}.jsonl'][:16]}" in printed
    assert "leakage between splits: none" in printed
    assert "dev/test rows whose worked solution another split holds: none" in printed

    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check"]) == 0
    assert "reusing it" in capsys.readouterr().out
    assert _manifest(out).created_at == manifest.created_at  # not rebuilt

    (out / "test.jsonl").write_text((out / "test.jsonl").read_text().replace("test-00000", "test-9"))
    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check"]) == 0  # tampered: rebuilt
    assert "reusing" not in capsys.readouterr().out and verify_checksums(out, _manifest(out).files) == []

    old = _manifest(out).model_copy(update={"generator": "rarft-analogy-v1"})  # a dir from an older benchmark version
    (out / "manifest.json").write_text(old.model_dump_json())
    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check"]) == 0  # rebuilt, not reused
    assert "reusing" not in capsys.readouterr().out and _manifest(out).generator == GENERATOR

    before = (out / "test.jsonl").read_text()
    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check", "--overwrite"]) == 0
    assert "reusing" not in capsys.readouterr().out
    assert _manifest(out).created_at >= manifest.created_at
    assert (out / "test.jsonl").read_text() == before  # a rebuild is byte-identical (deterministic)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left behind


def test_same_seed_same_checksums(tmp_path):
    for name in ("a", "b"):
        assert rarft(["data", "--out", str(tmp_path / name), *TINY, "--no-semantic-check"]) == 0
    assert _manifest(tmp_path / "a").files == _manifest(tmp_path / "b").files


def test_rl_wordings_rebuild_only_the_rl_rows_and_are_recorded(tmp_path, capsys):
    """A dir built with one RL wording is not reused for three, and only rl.jsonl differs between the two."""
    out = tmp_path / "data"
    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check"]) == 0
    one = _manifest(out)
    assert "rl_wordings" not in one.stats["config"]  # unset options stay out: older dirs remain valid
    assert rarft(["data", "--out", str(out), *TINY, "--no-semantic-check", "--rl-wordings", "3"]) == 0
    assert "reusing" not in capsys.readouterr().out
    three = _manifest(out)
    assert three.stats["config"]["rl_wordings"] == 3
    assert {n for n in one.files if one.files[n] != three.files[n]} == {"rl.jsonl"}


def test_source_file_is_split_leakage_safely(tmp_path, capsys):
    src = tmp_path / "gsm.jsonl"
    rows = [json.loads(line) for line in (SAMPLES_DIR / "gsm8k.jsonl").read_text().splitlines()][:6]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:2]))  # two duplicates
    out = tmp_path / "real"
    code = rarft(["data", "--out", str(out), "--source", str(src), "--format", "gsm8k",
                  "--bank-size", "2", "--train-size", "1", "--rl-size", "1", "--dev-size", "1", "--test-size", "1",
                  "--no-semantic-check"])
    printed = capsys.readouterr().out
    assert code == 0 and "8 rows read, 8 loaded, dropped: 2 duplicate problems" in printed
    assert _manifest(out).sizes == {"bank": 2, "train": 1, "rl": 1, "dev": 1, "test": 1}
    problems = [r.problem for name in ("bank", "train", "rl", "dev", "test") for r in read_rows(out / f"{name}.jsonl")]
    assert len(problems) == len(set(problems)) == 6


def test_splits_from_their_own_sources_keep_test_whole_and_never_leak_it(tmp_path, capsys):
    """An official test set stays as it is (order, rows); a bank from another corpus; problems test or dev hold are
    dropped from the pool and from the other sources, and the printout counts them."""
    import datasets

    def problem(i: int) -> dict:
        return {"problem": f"What is {i} plus {i}?", "answer": str(2 * i)}

    test_rows = [problem(i) for i in (7, 3, 11, 5)]  # an order no shuffle would keep
    test_src = tmp_path / "official_test"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(test_rows)}).save_to_disk(str(test_src))
    pool = tmp_path / "pool.jsonl"  # holds two test problems and one dev problem
    pool.write_text("".join(json.dumps(problem(i)) + "\n" for i in range(3, 40)))
    bank = tmp_path / "bank.csv"
    datasets.Dataset.from_list([problem(i) for i in (5, 100, 101, 102)]).to_csv(str(bank), index=False)
    out = tmp_path / "real"
    code = rarft(["data", "--out", str(out), "--source", str(pool), "--format", "aime", "--no-semantic-check",
                  "--train-size", "5", "--rl-size", "4", "--dev-size", "99",
                  "--test-source", json.dumps({"source": str(test_src), "split": "test", "format": "aime"}),
                  "--dev-source", json.dumps({"source": str(pool), "format": "aime", "size": 3}),
                  "--bank-source", str(bank)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    got = {n: read_rows(out / f"{n}.jsonl") for n in ("bank", "train", "rl", "dev", "test")}
    assert [r.problem for r in got["test"]] == [r["problem"] for r in test_rows]  # whole and in order
    assert [r.answer for r in got["dev"]] == ["8", "12", "16"]  # first 3 of the pool after test's 3 and 5: 4, 6, 8
    assert [r.answer for r in got["bank"]] == ["200", "202", "204"]  # 5 is a test problem
    bank_line = printed.split("bank:")[1].split(";")[0]  # the loading line joins each source's summary with "; "
    pool_line = printed.split("train, rl:")[1].split("\n")[0]
    assert "1 problems test holds" in bank_line and "dev holds" not in bank_line
    assert "problems test holds" in pool_line and "3 problems dev holds" in pool_line  # the pool names each owner
    m = _manifest(out)
    assert m.sizes == {"bank": 3, "train": 5, "rl": 4, "dev": 3, "test": 4}
    assert not any(m.stats["leakage"].values())
    assert m.generator.startswith("file:bank=") and f"test={test_src}" in m.generator
    problems = [r.problem for rows in got.values() for r in rows]
    assert len(problems) == len(set(problems)) and len({r.id for rows in got.values() for r in rows}) == len(problems)
    # the same config reuses the dir; changing one split's source rebuilds it
    assert rarft(["data", "--out", str(out), "--source", str(pool), "--format", "aime", "--no-semantic-check",
                  "--train-size", "5", "--rl-size", "4", "--dev-size", "99",
                  "--test-source", json.dumps({"source": str(test_src), "split": "test", "format": "aime"}),
                  "--dev-source", json.dumps({"source": str(pool), "format": "aime", "size": 3}),
                  "--bank-source", str(bank)]) == 0
    assert "reusing it" in capsys.readouterr().out


def test_every_split_from_its_own_source_needs_no_pool_and_is_reused(tmp_path, capsys):
    files = {}
    for n, name in enumerate(("bank", "train", "rl", "dev", "test")):
        files[name] = tmp_path / f"{name}_src.jsonl"
        files[name].write_text("".join(json.dumps({"problem": f"What is {10 * n + i} times 3?", "answer": str(3 * (10 * n + i))})
                                       + "\n" for i in range(4)))
    argv = ["data", "--out", str(tmp_path / "own"), "--no-semantic-check",
            *[a for name, f in files.items() for a in (f"--{name}-source", str(f))]]
    assert rarft(argv) == 0
    assert _manifest(tmp_path / "own").sizes == {n: 4 for n in files}
    capsys.readouterr()
    assert rarft(argv) == 0 and "reusing it" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--test-source", "/nonexistent/test.jsonl"], "--test-source given but nothing for bank, train, rl, dev"),
        (["--source", "x.jsonl", "--test-source", '{"path": "t.jsonl"}'], "--test-source"),
        (["--source", "x.jsonl", "--dev-source", '{"source": "d.jsonl", "size": 0}'], "--dev-source"),
    ],
)
def test_bad_split_sources_are_one_clear_line(tmp_path, capsys, argv, message):
    assert rarft(["data", "--out", str(tmp_path / "x"), "--no-semantic-check", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "gsm8k"], "--format/--columns only apply with --source"),
        (["--source", "/nonexistent/file.jsonl"], "file not found"),
        (["--source", "/nonexistent/file.jsonl", "--rl-wordings", "3"], "--rl-wordings applies to the embedded benchmark"),
        (["--rl-wordings", "4"], "--rl-wordings"),
        (["--bank-size", "0"], "--bank-size"),
        (["--encoder", "/nonexistent/encoder", "--bank-size", "20", "--train-size", "5", "--test-size", "5"], "/nonexistent/encoder"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    assert rarft(["data", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()  # nothing half-written


@pytest.mark.slow
def test_semantic_check_with_real_minilm(tmp_path, capsys):
    out = tmp_path / "sem"
    assert rarft(["data", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    sem = _manifest(out).stats["semantic"]
    assert "top-4 of dev against bank" in printed and "top-4 of test against bank" in printed
    assert sem["k"] == 4
    for split in ("dev", "test"):  # reported for each split on its own
        m = sem[split]
        assert m["unseen_queries"] == {"dev": 30, "test": 60}[split]
        # the benchmark's point: MiniLM finds the theme, not the strategy
        assert m["theme_match@4"] > 0.8 > 0.4 > m["strategy_match@4"] >= 0.0
