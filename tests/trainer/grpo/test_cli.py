"""`rarft train` option parsing: TRL's flags plus ours, --config YAML, and one-line errors for bad input."""

from __future__ import annotations

import pytest

from shared.errors import UserError

from shared.cli import main as rarft
from trainer.grpo.cli import check_paths, parse_args


def test_trl_and_rarft_flags_and_yaml_config(tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text("retrieval_k: 3\nlearning_rate: 0.001\ndegrade_policy: degrade\n")
    config = parse_args(["--config", str(cfg), "--model", "m", "--train", "t.jsonl", "--output-dir", str(tmp_path),
                         "--retrieval-url", "http://127.0.0.1:9/", "--max-steps", "5", "--retrieval-k", "5"])
    assert config.retrieval_k == 5  # the command line wins over the file
    assert config.learning_rate == 0.001 and config.degrade_policy == "degrade" and config.max_steps == 5
    assert config.retrieval_url == "http://127.0.0.1:9" and config.train_file == "t.jsonl"
    assert config.use_cpu and config.bf16 is False and config.activation_checkpointing is False


@pytest.mark.parametrize("argv, message", [
    (["--output-dir", "{tmp}"], "--model is required"),
    (["--output-dir", "{tmp}", "--model", "{tmp}/nope", "--train", "{tmp}/t.jsonl"], "no such folder"),
    (["--output-dir", "{tmp}", "--model", "{tmp}", "--train", "{tmp}/none.jsonl"], "training file not found"),
    (["--output-dir", "{tmp}", "--retrieval-url", "localhost:8000"], "must start with http"),
    pytest.param(["--output-dir", "{tmp}", "--model", "{tmp}", "--train", "{tmp}", "--use-vllm", "true"],
                 "--use-vllm needs vLLM", marks=pytest.mark.skipif(
                     __import__("importlib.util").util.find_spec("vllm") is not None, reason="vLLM is installed")),
    (["--output-dir", "{tmp}", "--retrieval-timeout-s", "0"], "needs a timeout"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    (tmp_path / "t.jsonl").write_text("")
    code = rarft(["train", *[a.format(tmp=tmp_path) for a in argv]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_hub_id_without_a_hub_is_one_line(tmp_path):
    (tmp_path / "x.jsonl").write_text("")
    config = parse_args(["--output-dir", str(tmp_path), "--model", "Qwen/Qwen3-1.7B", "--train",
                         str(tmp_path / "x.jsonl")])
    with pytest.raises(UserError, match="--model Qwen/Qwen3-1.7B: cannot read its config"):
        check_paths(config)
