"""`rarft eval --use-vllm`: the k samples per problem from a vLLM engine instead of HF `generate` (the `gpu` extra).

The engine gets exactly what the HF path feeds `model.generate`: the rendered prompt's token ids without added
special tokens (a text prompt would get a BOS from some tokenizers), the same stop ids (the generation config's EOS
ids and the tokenizer's), the same temperature / top-p / length, and the completions decoded without special tokens
and stripped. Each batch of the plan (trainer.evaluation.batches) is one `generate` call whose requests carry the
batch's seed, so vLLM samples, too, do not depend on how the work was split. vLLM batches continuously inside a
call: give it a large `--batch-size` (it counts sequences: 4096 with `--k 32` is 128 problems per call).

Greedy runs of both paths should agree on the metrics up to the kernels' float differences (which can flip a
near-tied token); that has not been measured on this project's CPU-only machine (vLLM needs a GPU here).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from shared.errors import UserError
from trainer.evaluation.sampling import GenerateFn, samples_per_prompt

VLLM_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError:
        raise UserError("--use-vllm: vLLM is not installed; on a CUDA machine pip install -e '.[gpu]', "
                        "or drop --use-vllm to sample with HF generate") from None
    return vllm


def stop_token_ids(path: str, tokenizer: Any) -> list[int]:
    """The EOS ids HF generate stops on (trainer.generation): the generation config's and the tokenizer's."""
    from transformers import GenerationConfig

    from trainer.generation import _stop_ids

    try:
        config = GenerationConfig.from_pretrained(path)
    except OSError:  # no generation_config.json: the tokenizer's EOS alone
        config = None
    return _stop_ids(SimpleNamespace(generation_config=config), tokenizer)


def make_vllm_generate_fn(path: str, tokenizer: Any, *, temperature: float, top_p: float, max_new_tokens: int,
                          seed: int, dtype: str, gpu_memory_utilization: float, tensor_parallel_size: int,
                          max_model_len: int | None = None, vllm: Any = None) -> GenerateFn:
    """(prompts, k, seed=None) -> k completions per prompt from one vLLM engine over the policy at `path`."""
    vllm = vllm or import_vllm()
    llm = vllm.LLM(model=path, tokenizer=path, dtype=VLLM_DTYPES.get(dtype, "auto"), seed=seed,
                   gpu_memory_utilization=gpu_memory_utilization, tensor_parallel_size=tensor_parallel_size,
                   max_model_len=max_model_len)
    stops = stop_token_ids(path, tokenizer)

    def generate(prompts: Sequence[str], k: int, seed: int | None = None) -> list[list[str]]:
        n = samples_per_prompt(k, temperature)
        params = vllm.SamplingParams(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                     max_tokens=max_new_tokens, seed=seed, stop_token_ids=stops,
                                     skip_special_tokens=True)
        requests = [{"prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"]} for p in prompts]
        outputs = llm.generate(requests, sampling_params=params, use_tqdm=False)
        if len(outputs) != len(prompts):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(prompts)} prompts")
        texts = [[o.text.strip() for o in out.outputs] for out in outputs]
        return [t * k for t in texts] if n == 1 and k > 1 else texts

    return generate
