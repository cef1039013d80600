"""Every command takes each option by flag, by its own RARFT_<COMMAND>_* env var and from a --config file."""

from __future__ import annotations

import importlib

import pytest

from shared.cli import COMMANDS
from shared.config import env_prefix
from shared.errors import UserError

# command -> (required flags, option, value given, value parsed)
CASES = {
    "data": (["--out", "d"], "seed", "7", 7),
    "init-policy": (["--data", "d", "--out", "p"], "seed", "7", 7),
    "build-retriever": (["--bank", "b.jsonl", "--out", "r/v0"], "batch_size", "7", 7),
    "serve": ([], "port", "8127", 8127),
    "deploy": (["status"], "timeout", "7", 7.0),
    "train": (["--model", "m", "--output-dir", "o"], "max_steps", "7", 7),
    "label": (["--policy", "p", "--data", "d", "--out", "l.jsonl", "--retriever", "r/v0"], "num_random", "7", 7),
    "distill": (["--labels", "l", "--data", "d", "--parent", "r/v0", "--out", "r/v1"], "epochs", "7", 7),
    "eval-retriever": (["--retriever", "r/v0", "--data", "d", "--out", "e"], "k", "7", 7),
    "eval": (["--model", "m", "--data", "d", "--out", "e"], "k", "7", 7),
    "experiment": ([], "seeds", "[7]", [7]),
}


def _parse(command: str):
    module = importlib.import_module(COMMANDS[command][0].split(":")[0])
    return module.parse_args


def _prefix(command: str) -> str:
    return "RARFT_" if command == "serve" else env_prefix(f"rarft {command}")  # serve: the service's namespace


def _clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("RARFT_"):
            monkeypatch.delenv(key)


def test_every_command_has_a_case():
    assert set(CASES) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(CASES))
def test_option_by_flag_env_and_file(command, tmp_path, monkeypatch):
    _clean_env(monkeypatch)
    required, option, given, parsed = CASES[command]
    parse = _parse(command)
    flag = "--" + option.replace("_", "-") if command != "train" else f"--{option}"
    listed = given.strip("[]") if given.startswith("[") else given

    assert getattr(parse([*required, flag, listed]), option) == parsed  # by flag

    monkeypatch.setenv(_prefix(command) + option.upper(), given)
    assert getattr(parse(required), option) == parsed  # by env var
    monkeypatch.delenv(_prefix(command) + option.upper())

    config = tmp_path / "options.yaml"
    config.write_text(f"{option}: {given}\n")
    assert getattr(parse([*required, "--config", str(config)]), option) == parsed  # by file

    # precedence: command line > env > file
    monkeypatch.setenv(_prefix(command) + option.upper(), given.replace("7", "8"))
    from_env = getattr(parse([*required, "--config", str(config)]), option)
    assert from_env != parsed
    assert getattr(parse([*required, "--config", str(config), flag, listed]), option) == parsed


def test_env_vars_are_per_command(monkeypatch, capsys):
    """RARFT_EVAL_K is eval's; it does not set `rarft data`'s k. The old shared RARFT_K is ignored, with a warning."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("RARFT_EVAL_K", "32")
    assert _parse("data")(["--out", "d"]).k != 32
    assert _parse("eval")(["--model", "m", "--data", "d", "--out", "e"]).k == 32
    monkeypatch.setenv("RARFT_SEED", "5")
    assert _parse("data")(["--out", "d"]).seed != 5
    err = capsys.readouterr().err
    assert "RARFT_SEED is ignored" in err and "set RARFT_DATA_SEED" in err


def test_a_bad_env_value_names_the_variable(monkeypatch):
    _clean_env(monkeypatch)
    monkeypatch.setenv("RARFT_EVAL_K", "0")
    with pytest.raises(UserError, match=r"^RARFT_EVAL_K: Input should be greater than or equal to 1$"):
        _parse("eval")(["--model", "m", "--data", "d", "--out", "e"])


def test_serve_takes_the_service_limits_once(monkeypatch):
    """`rarft serve` options are the service Settings' own fields: one limit, one message naming the flag."""
    _clean_env(monkeypatch)
    with pytest.raises(UserError, match=r"^--thread-pool-size: Input should be less than or equal to 64$"):
        _parse("serve")(["--thread-pool-size", "100"])
    assert _parse("serve")(["--max-batch-queries", "64"]).max_batch_queries == 64  # every setting is a flag


@pytest.mark.parametrize("old, new, attr", [(["--version", "v1"], ["--retriever-version", "v1"], "retriever_version"),
                                            (["--budget-tokens", "64"], ["--demo-budget-tokens", "64"], "demo_budget_tokens"),
                                            (["--retrieval-timeout", "5"], ["--retrieval-timeout-s", "5"], "retrieval_timeout_s")])
def test_old_option_names_still_work_with_a_deprecation_line(old, new, attr, monkeypatch, capsys, tmp_path):
    _clean_env(monkeypatch)
    required = ["--model", "m", "--data", "d", "--out", "e", "--retrieval-url", "http://127.0.0.1:1"]
    parse = _parse("eval")
    assert getattr(parse([*required, *old]), attr) == getattr(parse([*required, *new]), attr)
    err = capsys.readouterr().err
    assert f"{old[0]} is deprecated" in err and f"use {new[0]}" in err
    config = tmp_path / "old.yaml"
    config.write_text(f"{old[0][2:].replace('-', '_')}: {old[1]}\n")
    assert getattr(parse([*required, "--config", str(config)]), attr) == getattr(parse([*required, *new]), attr)
    assert "is deprecated" in capsys.readouterr().err


def test_renamed_flags_across_commands(monkeypatch, capsys):
    _clean_env(monkeypatch)
    assert _parse("data")(["--out", "d", "--force"]).overwrite is True
    assert _parse("eval-retriever")(["--version", "r/v1", "--data", "d", "--out", "e"]).retriever.name == "v1"
    label = ["--policy", "p", "--data", "d", "--out", "l.jsonl", "--retriever", "r/v0"]
    assert _parse("label")([*label, "--threads", "1", "--retrieval-version", "v0"]).num_threads == 1
    assert _parse("distill")(["--labels", "l", "--data", "d", "--parent", "r/v0", "--out", "r/v1", "--threads", "1"]).num_threads == 1
    monkeypatch.setenv("RARFT_LABEL_THREADS", "3")
    assert _parse("label")(label).num_threads == 3
    err = capsys.readouterr().err
    for old in ("--force", "--version", "--threads", "--retrieval-version", "RARFT_LABEL_THREADS"):
        assert f"{old} is deprecated" in err, old
