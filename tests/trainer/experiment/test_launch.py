"""`rarft experiment --accelerate-config/--num-processes`: the train, label and eval stages run under accelerate launch."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from shared.errors import UserError

from tests.trainer.conftest import CPU_CONFIG
from trainer.experiment.cli import parse_args
from trainer.experiment.stages import Launch


def test_launch_prefix_and_fingerprint(tmp_path):
    with_config = Launch(CPU_CONFIG, 2).prefix()
    assert with_config[1:3] == ["-m", "accelerate.commands.launch"] and with_config[-2:] == ["-m", "shared.cli"]
    assert with_config[with_config.index("--config_file") + 1] == str(CPU_CONFIG)
    assert with_config[with_config.index("--num_processes") + 1] == "2" and "--multi_gpu" not in with_config
    assert int(with_config[with_config.index("--main_process_port") + 1]) > 0
    bare = Launch(None, 4).prefix()
    assert "--multi_gpu" in bare and "--config_file" not in bare  # not --cpu: that path starts one process only
    assert "--multi_gpu" not in Launch(None, 1).prefix()
    copy = tmp_path / "same.yaml"
    shutil.copy(CPU_CONFIG, copy)  # the result depends on the file's contents, not its path
    assert Launch(copy, 2).fingerprint() == Launch(CPU_CONFIG, 2).fingerprint() != Launch(CPU_CONFIG, 3).fingerprint()


def test_experiment_options(monkeypatch, tmp_path):
    assert parse_args([]).launch() is None  # default: plain processes, as before
    launch = parse_args(["--accelerate-config", str(CPU_CONFIG), "--num-processes", "2"]).launch()
    assert launch == Launch(CPU_CONFIG, 2)
    monkeypatch.setenv("RARFT_EXPERIMENT_NUM_PROCESSES", "3")
    assert parse_args([]).launch() == Launch(None, 3)
    with pytest.raises(UserError, match="--accelerate-config: file not found"):
        parse_args(["--accelerate-config", str(tmp_path / "missing.yaml")])


def test_only_train_label_and_eval_commands_are_launched(tmp_path, monkeypatch):
    from trainer.experiment import pipeline as P
    from trainer.experiment.presets import get_preset

    seen = []
    monkeypatch.setattr(P, "run_rarft", lambda args, log, env=None, launch=None: seen.append((args[0], launch)))
    launch = Launch(CPU_CONFIG, 2)
    pipe = P.Pipeline(get_preset("tiny"), tmp_path, log=lambda s: None, launch=launch)
    for command in ("data", "init-policy", "build-retriever", "label", "distill", "deploy", "train", "eval",
                    "eval-retriever"):
        pipe.rarft(command, [command])
    assert [c for c, lnch in seen if lnch is launch] == ["label", "train", "eval"]


def test_eval_stage_under_two_processes(tiny_policy, tiny_data, tmp_path):
    from trainer.experiment.pipeline import Pipeline
    from trainer.experiment.presets import get_preset

    def evaluate(out, launch):
        pipe = Pipeline(get_preset("tiny"), out, log=lambda s: None, launch=launch)
        shutil.copytree(tiny_data, pipe.data)
        result = pipe._eval("eval-base-none", str(tiny_policy), None, 1000, {})
        with open(out / "eval" / "base-none" / "per_problem.csv", newline="") as fh:
            return result, list(csv.DictReader(fh))

    plain, plain_rows = evaluate(tmp_path / "plain", None)
    launched, launched_rows = evaluate(tmp_path / "launched", Launch(CPU_CONFIG, 2))
    log = (tmp_path / "launched" / "logs" / "eval-base-none.log").read_text()
    assert log.startswith("$ accelerate launch --config_file") and "(in-process)" not in log
    results = json.loads((tmp_path / "launched" / "eval" / "base-none" / "results.json").read_text())
    assert results["num_processes"] == 2
    assert launched_rows == plain_rows and launched["metrics"] == plain["metrics"]
