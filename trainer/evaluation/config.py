"""`rarft eval` options (one pydantic model: flags, RARFT_* env vars and --config files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.config import CommandConfig, renamed
from shared.devices import DEVICE_HELP, DTYPE_HELP, Dtype


class EvalConfig(CommandConfig):
    """Average@k and pass@k of a policy on a problem file, with or without retrieved demonstrations."""

    model: str = Field(description="policy: a Hugging Face model dir or hub id")
    data: Path = Field(description="problem file: a rarft split (JSONL of Demonstration rows) or a MATH/AIME/GSM8K file")
    format: Literal["auto", "rarft", "math", "aime", "gsm8k"] = Field(
        default="auto", description="file format; 'auto' reads rarft JSONL rows and hands anything else to the data loaders")
    out: Path = Field(description="output dir: results.json, summary.csv, per_problem.csv, samples.jsonl")
    k: int = Field(default=4, ge=1, le=1024, description="samples per problem; avg@k is their mean accuracy (the paper reports avg@32)")
    pass_k: list[int] = Field(default_factory=lambda: [1], description="pass@k values (unbiased estimator); k itself is always added")
    temperature: float = Field(default=0.7, ge=0.0, description="sampling temperature; 0 means greedy (all k samples equal)")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="nucleus sampling threshold")
    max_new_tokens: int = Field(default=256, ge=1, description="generation length limit per sample")
    batch_size: int = Field(default=32, ge=1, description="sequences generated per forward batch")
    limit: int | None = Field(default=None, ge=1, description="evaluate only the first N problems (smoke runs)")
    seed: int = Field(default=0, description="sampling seed")
    retrieval_url: str | None = Field(default=None, description="retrieval service base URL; omit to evaluate without demonstrations")
    retriever_version: str | None = Field(default=None, json_schema_extra=renamed("version"), description="pin this retriever version on the service (reproducible evaluation)")
    retrieval_k: int = Field(default=2, ge=1, le=64, description="demonstrations retrieved per problem")
    demo_budget_tokens: int | None = Field(default=768, ge=1, json_schema_extra=renamed("budget_tokens"), description="token budget of the demonstrations in the prompt, as in `rarft train --demo-budget-tokens` (None: all fit)")
    retrieval_timeout_s: float = Field(default=30.0, gt=0, json_schema_extra=renamed("retrieval_timeout"), description="seconds per retrieval request")
    device: str = Field(default="auto", description=DEVICE_HELP)
    dtype: Dtype = Field(default="auto", description=DTYPE_HELP)
    chat_template_kwargs: dict[str, Any] | None = Field(default=None, description="JSON keyword arguments of the "
                                                       "policy's chat template, e.g. '{\"enable_thinking\": false}' for Qwen3")
    save_samples: bool = Field(default=True, description="write every completion to samples.jsonl")
    use_vllm: bool = Field(default=False, description="sample with a vLLM engine instead of HF generate (the gpu extra; "
                           "one process on a CUDA GPU, not under accelerate launch)")
    vllm_gpu_memory_utilization: float = Field(default=0.9, gt=0.0, le=1.0, description="with --use-vllm: fraction of "
                                               "the GPU's memory vLLM may take (weights + KV cache)")
    vllm_tensor_parallel_size: int = Field(default=1, ge=1, description="with --use-vllm: GPUs one engine spreads the "
                                           "model over (tensor parallelism)")

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        if self.retriever_version is not None and self.retrieval_url is None:
            raise ValueError("--retriever-version pins a retriever on the service; give --retrieval-url too")
        bad = [k for k in self.pass_k if k < 1 or k > self.k]
        if bad:
            raise ValueError(f"pass@k needs 1 <= k <= --k ({self.k}); drop {bad} or raise --k")
        return self
