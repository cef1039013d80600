"""Every stage names a policy the same way and answers a bad one with one line naming the flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shared.cli import main as rarft
from shared.errors import UserError
from trainer.policy.loading import check_policy, load_policy, resolve_policy


def _one_line_error(capsys, argv: list[str]) -> str:
    assert rarft(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_missing_model_dir_is_one_line_on_every_stage(capsys, tiny_data, tmp_path):
    missing = str(tmp_path / "no-such-policy")
    err = _one_line_error(capsys, ["eval", "--model", missing, "--data", str(tiny_data / "dev.jsonl"),
                                   "--out", str(tmp_path / "e")])
    assert "--model" in err and "no such folder" in err and "rarft init-policy" in err
    err = _one_line_error(capsys, ["label", "--policy", missing, "--data", str(tiny_data), "--out",
                                   str(tmp_path / "l.jsonl"), "--num-semantic", "0"])
    assert "--policy" in err and "no such folder" in err
    err = _one_line_error(capsys, ["init-policy", "--base-model", missing, "--data", str(tiny_data),
                                   "--out", str(tmp_path / "p")])
    assert "--base-model" in err and "no such folder" in err
    err = _one_line_error(capsys, ["train", "--model", missing, "--train", str(tiny_data / "rl.jsonl"),
                                   "--output-dir", str(tmp_path / "t")])
    assert "--model" in err and "no such folder" in err


def test_hub_id_without_a_hub_is_one_line(capsys, tiny_data, tmp_path):
    err = _one_line_error(capsys, ["eval", "--model", "nonexistent/model", "--data", str(tiny_data / "dev.jsonl"),
                                   "--out", str(tmp_path / "e")])
    assert err.startswith("rarft eval: error: --model nonexistent/model: cannot read its config")


def test_encoder_is_not_a_causal_lm(minilm_path):
    with pytest.raises(UserError, match="not a causal language model"):
        check_policy(str(minilm_path))


def test_folder_without_config_and_file_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        resolve_policy(str(tmp_path / "empty"))
    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(UserError, match="is a file"):
        resolve_policy(str(tmp_path / "weights.bin"), flag="--policy")


def test_policy_without_chat_template(tiny_policy, tmp_path):
    copy = Path(shutil.copytree(tiny_policy, tmp_path / "no-template"))
    for name in ("chat_template.jinja", "chat_template.json"):
        (copy / name).unlink(missing_ok=True)
    config = copy / "tokenizer_config.json"
    import json

    data = json.loads(config.read_text())
    data.pop("chat_template", None)
    config.write_text(json.dumps(data))
    with pytest.raises(UserError, match="no chat template"):
        load_policy(str(copy))


def test_policy_dir_loads_in_eval_mode_with_a_pad_token(tiny_policy):
    model, tokenizer = load_policy(str(tiny_policy))
    assert not model.training and tokenizer.pad_token_id is not None and tokenizer.chat_template
