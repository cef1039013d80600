"""Preset flags reach their commands as those commands parse them: a mapping (chat template kwargs) as JSON."""

from __future__ import annotations

from trainer.experiment.presets import to_flags


def test_mapping_flags_are_json_the_commands_parse(tmp_path):
    from trainer.evaluation.cli import parse_args as eval_args
    from trainer.relevance.labeling import parse_args as label_args

    thinking = {"chat_template_kwargs": {"enable_thinking": False}}
    flags = to_flags({"k": 2, **thinking})
    assert flags == ["--k", "2", "--chat-template-kwargs", '{"enable_thinking": false}']
    cfg = eval_args(["--model", "m", "--data", "d.jsonl", "--out", str(tmp_path), *flags])
    assert cfg.chat_template_kwargs == {"enable_thinking": False} and cfg.k == 2
    cfg = label_args(["--policy", "m", "--data", str(tmp_path), "--out", str(tmp_path / "l.jsonl"), "--num-semantic", "0",
                      *to_flags(thinking)])
    assert cfg.chat_template_kwargs == {"enable_thinking": False}
