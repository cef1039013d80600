"""--device/--dtype resolve the same way in every command that loads a model (the GPU paths need a GPU to run)."""

from __future__ import annotations

import pytest
import torch

from shared.devices import resolve_device, resolve_dtype, torch_dtype, training_precision
from shared.errors import UserError

from tests.shared.test_command_options import _clean_env, _parse

needs_no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only resolution")


@needs_no_gpu
def test_auto_is_the_cpu_in_fp32_without_a_gpu():
    assert resolve_device("auto") == "cpu"
    assert resolve_dtype("auto", "auto") == "fp32"
    assert torch_dtype("auto", "cpu") is torch.float32
    assert training_precision("auto", "auto") == {"use_cpu": True, "bf16": False, "fp16": False}


@needs_no_gpu
def test_a_gpu_asked_for_on_a_cpu_box_is_one_line():
    with pytest.raises(UserError, match=r"^--device cuda:1: torch sees no CUDA device here; use --device auto or cpu$"):
        resolve_device("cuda:1")
    with pytest.raises(UserError, match="mixed-precision training needs a GPU"):
        training_precision("bf16", "cpu")


def test_explicit_precision_is_kept():
    assert torch_dtype("bf16", "cpu") is torch.bfloat16  # inference in bf16 on the CPU: slow, but allowed
    assert resolve_dtype("fp16", "cpu") == "fp16"


@pytest.mark.parametrize("command, required", [
    ("init-policy", ["--data", "d", "--out", "p"]),
    ("label", ["--policy", "p", "--data", "d", "--out", "l.jsonl", "--retriever", "r/v0"]),
    ("eval", ["--model", "m", "--data", "d", "--out", "e"]),
    ("distill", ["--labels", "l", "--data", "d", "--parent", "r/v0", "--out", "r/v1"]),
    ("eval-retriever", ["--retriever", "r/v0", "--data", "d", "--out", "e"]),
    ("build-retriever", ["--bank", "b.jsonl", "--out", "r/v0"]),
    ("serve", []),
])
def test_every_model_loading_command_takes_device_and_dtype(command, required, monkeypatch):
    _clean_env(monkeypatch)
    cfg = _parse(command)([*required, "--device", "cpu"])
    assert cfg.device == "cpu"
    if command not in ("build-retriever", "serve"):  # encoders only: the precision flag is the policy's
        assert _parse(command)([*required, "--dtype", "fp32"]).dtype == "fp32"
        with pytest.raises(UserError, match=r"^--dtype: Input should be 'auto', 'bf16', 'fp16' or 'fp32'$"):
            _parse(command)([*required, "--dtype", "int4"])


def test_init_policy_fingerprint_unchanged_in_fp32():
    """An fp32 warm start keeps the fingerprint it had before --dtype existed, so existing policies are reused."""
    cfg = _parse("init-policy")(["--data", "d", "--out", "p", "--device", "cpu"])
    assert "precision" not in cfg.fingerprint() and "device" not in cfg.fingerprint()
