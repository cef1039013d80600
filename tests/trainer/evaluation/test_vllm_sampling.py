"""`rarft eval --use-vllm` as far as a CPU-only machine allows: vLLM itself needs a GPU, so what runs here is the
one-line errors and the adapter's contract with vLLM's API (LLM / SamplingParams / generate), checked against a
recording stand-in for the vllm module; vLLM's own sampling and the greedy agreement with HF generate are not run."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from shared.cli import main as rarft
from trainer.evaluation.vllm_sampling import make_vllm_generate_fn, stop_token_ids

HAS_VLLM = importlib.util.find_spec("vllm") is not None


class RecordingVllm(types.ModuleType):
    """Stands in for `vllm`: records the engine's arguments and each generate call, answers one completion per
    requested sample that names the request's first token id and the sample index."""

    def __init__(self):
        super().__init__("vllm")
        self.engines, self.calls = [], []
        module = self

        class LLM:
            def __init__(self, **kwargs):
                module.engines.append(kwargs)

            def generate(self, requests, sampling_params, use_tqdm=True):
                module.calls.append((requests, sampling_params))
                return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f" r{r['prompt_token_ids'][0]}-{i}\n")
                                                       for i in range(sampling_params.kwargs["n"])]) for r in requests]

        class SamplingParams:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

        self.LLM, self.SamplingParams = LLM, SamplingParams


def _one_line_error(capsys, argv):
    assert rarft(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_without_vllm_the_flag_is_a_one_line_error(capsys, tiny_data, tmp_path):
    err = _one_line_error(capsys, ["eval", "--model", "m", "--data", str(tiny_data / "test.jsonl"), "--out",
                                   str(tmp_path), "--use-vllm", "--device", "cpu"])
    assert err == ("rarft eval: error: --use-vllm: vLLM is not installed; on a CUDA machine pip install -e '.[gpu]', "
                   "or drop --use-vllm to sample with HF generate")


def test_on_the_cpu_the_flag_is_a_one_line_error(capsys, tiny_data, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", RecordingVllm())  # "installed", but this box has no GPU
    err = _one_line_error(capsys, ["eval", "--model", "m", "--data", str(tiny_data / "test.jsonl"), "--out",
                                   str(tmp_path), "--use-vllm", "--device", "cpu"])
    assert "--use-vllm needs a CUDA GPU and the device is cpu" in err


def test_the_engine_gets_what_hf_generate_gets(tiny_policy):
    from trainer.policy.loading import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_policy))
    fake = RecordingVllm()
    generate = make_vllm_generate_fn(str(tiny_policy), tokenizer, temperature=0.7, top_p=0.9, max_new_tokens=12,
                                     seed=5, dtype="bf16", gpu_memory_utilization=0.5, tensor_parallel_size=2, vllm=fake)
    assert fake.engines == [{"model": str(tiny_policy), "tokenizer": str(tiny_policy), "dtype": "bfloat16", "seed": 5,
                             "gpu_memory_utilization": 0.5, "tensor_parallel_size": 2, "max_model_len": None}]
    prompts = ["<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", "<|im_start|>user\n3+4?<|im_end|>\n"]
    out = generate(prompts, 3, seed=1000003)
    requests, params = fake.calls[-1]
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    assert [r["prompt_token_ids"] for r in requests] == ids  # token ids: no BOS a text prompt could gain
    assert params.kwargs == {"n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 12, "seed": 1000003,
                             "stop_token_ids": stop_token_ids(str(tiny_policy), tokenizer), "skip_special_tokens": True}
    assert tokenizer.eos_token_id in params.kwargs["stop_token_ids"]
    assert out == [[f"r{ids[0][0]}-{i}" for i in range(3)], [f"r{ids[1][0]}-{i}" for i in range(3)]]  # stripped, in order

    greedy = make_vllm_generate_fn(str(tiny_policy), tokenizer, temperature=0.0, top_p=0.9, max_new_tokens=12, seed=0,
                                   dtype="fp32", gpu_memory_utilization=0.9, tensor_parallel_size=1, vllm=fake)
    assert greedy(prompts[:1], 4) == [[f"r{ids[0][0]}-0"] * 4]  # one sample, repeated k times, as the HF path does
    assert fake.calls[-1][1].kwargs["n"] == 1 and fake.calls[-1][1].kwargs["top_p"] == 1.0
    assert fake.engines[-1]["dtype"] == "float32"


def test_several_processes_are_refused(monkeypatch):
    from shared.errors import UserError
    from trainer.evaluation.cli import _check_vllm
    from trainer.processes import Processes

    monkeypatch.setitem(sys.modules, "vllm", RecordingVllm())
    _check_vllm(Processes(0, 1, "cuda"))  # one process on a GPU: accepted
    with pytest.raises(UserError, match="without accelerate launch"):
        _check_vllm(Processes(1, 2, "cuda:1"))
