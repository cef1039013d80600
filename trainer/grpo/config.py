"""`RARFTConfig`: TRL's `GRPOConfig` plus the retrieval fields of RA-RFT.

Extending GRPOConfig (rather than wrapping it) means every TRL flag (`--max-steps`, `--learning-rate`,
`--num-generations`, `--use-vllm`, ...) works unchanged on `rarft train`, from the command line or a YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from trl import GRPOConfig

from shared.limits import MAX_TOP_K

DEGRADE_POLICIES = ("fail", "degrade")


@dataclass
class RARFTConfig(GRPOConfig):
    r"""GRPO configuration with retrieval at rollout time.

    Without `retrieval_url` the trainer runs plain GRPO through the same code path (prompts rendered by
    `trainer.prompting.render_prompt` with no demonstrations), so a GRPO vs RA-RFT comparison differs only in
    the demonstrations.
    """

    # ----------------------------------------------------------------------------------------- our inputs
    model: str | None = field(
        default=None, metadata={"help": "Policy to train: a local Hugging Face model dir or a hub id."}
    )
    train_file: str | None = field(
        default=None,
        metadata={"aliases": ["--train"], "help": "Training problems: a JSONL file of Demonstration rows "
                                                  "(id, problem, answer, strategy, ...), e.g. DATA/rl.jsonl (the benchmark's RL rows)."},
    )
    # ------------------------------------------------------------------------------------------ retrieval
    retrieval_url: str | None = field(
        default=None,
        metadata={"help": "Base URL of the retrieval service (e.g. http://127.0.0.1:8000), or several replicas of one "
                          "registry as URL1,URL2 (calls take turns and fail over). Unset: plain GRPO."},
    )
    retrieval_k: int = field(default=4, metadata={"help": "Demonstrations retrieved per problem (top-k)."})
    demo_budget_tokens: int = field(
        default=768,
        metadata={"help": "Token budget of the demonstrations in a prompt; lower-ranked ones are dropped first. "
                          "The problem itself is never cut."},
    )
    routing_key: str | None = field(
        default=None, metadata={"help": "A/B stickiness key sent with each request (default: none, so the service's split picks the arm per request and one run sees every arm)."}
    )
    retriever_version: str | None = field(
        default=None, metadata={"help": "Pin a retriever version, bypassing the service's A/B split."}
    )
    retrieval_timeout_s: float = field(default=10.0, metadata={"help": "Timeout of each HTTP attempt, seconds."})
    retrieval_retries: int = field(
        default=3, metadata={"help": "Extra attempts on connect errors, timeouts and 5xx before giving up."}
    )
    retrieval_backoff_s: float = field(
        default=0.2, metadata={"help": "Backoff base: retry n waits uniform(0, base * 2**n) seconds (max 5)."}
    )
    retrieval_wait_ready_s: float = field(
        default=30.0, metadata={"help": "At start, wait this long for the service's /readyz before failing."}
    )
    retrieval_prefetch: bool = field(
        default=True,
        metadata={"help": "Retrieve the next batch's demonstrations while the current batch generates. A retriever "
                          "swapped on the service then takes effect one batch later."},
    )
    degrade_policy: str = field(
        default="fail",
        metadata={"help": "When retrieval fails after retries: 'fail' stops with a checkpoint; 'degrade' trains that "
                          "batch without demonstrations (counted in retrieval/degraded).",
                  "choices": list(DEGRADE_POLICIES)},
    )
    feedback: bool = field(
        default=True, metadata={"help": "After each step, POST the mean reward per retriever arm to /feedback."}
    )
    run_id: str | None = field(
        default=None, metadata={"help": "Run name sent with feedback (default: the output dir's name)."}
    )
    share_prefill: bool = field(
        default=True,
        metadata={"help": "Run each prompt's prefill once for its num_generations samples and repeat its KV cache "
                          "(HF generate path only; vLLM shares prefixes itself). False: TRL's own generation."},
    )
    format_reward_weight: float = field(
        default=0.0,
        metadata={"help": "Weight of the format reward (1 when the completion ends in a \\boxed{} answer); "
                          "0 turns it off and only the math-verify accuracy reward is used."},
    )

    # ---------------------------------------------------------------- TRL defaults that suit a CPU box
    use_cpu: bool = field(
        default=not torch.cuda.is_available(),  # GRPO on CPU needs it; a GPU box keeps TRL's behaviour
        metadata={"help": "Run on CPU even when an accelerator is present (default: True when CUDA is absent)."},
    )
    bf16: bool = field(
        default=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),  # CPU bf16 autocast: slow, lossy
        metadata={"help": "bf16 mixed precision (default: on a bf16-capable GPU, off on CPU)."},
    )
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "Deprecated alias of activation_checkpointing (transformers 5)."}
    )
    activation_checkpointing: bool | None = field(
        default=False, metadata={"help": "Trade compute for memory; off by default (tiny policy, CPU)."}
    )
    report_to: None | str | list[str] = field(
        default="tensorboard", metadata={"help": "Loggers: tensorboard (default), wandb, none, ..."}
    )
    logging_steps: float = field(default=1, metadata={"help": "Log every N steps (retrieval metrics per step)."})
    num_generations: int | None = field(default=4, metadata={"help": "Completions sampled per prompt (group size)."})
    per_device_train_batch_size: int = field(
        default=4, metadata={"help": "Completions per device per step (a multiple of num_generations / process)."}
    )
    max_completion_length: int | None = field(default=128, metadata={"help": "Max new tokens per completion."})
    save_steps: float = field(default=50, metadata={"help": "Checkpoint every N steps (HF format)."})

    def __post_init__(self) -> None:
        if self.retrieval_url is not None:
            from trainer.client import split_urls

            try:
                self.retrieval_url = ",".join(split_urls(self.retrieval_url))
            except ValueError as exc:
                raise ValueError(f"--retrieval-url: {exc}") from None
        if not 1 <= self.retrieval_k <= MAX_TOP_K:
            raise ValueError(f"--retrieval-k must be between 1 and {MAX_TOP_K}, got {self.retrieval_k}")
        if self.demo_budget_tokens < 0:
            raise ValueError("--demo-budget-tokens must be >= 0 (0 keeps no demonstrations)")
        if self.retrieval_timeout_s <= 0:
            raise ValueError("--retrieval-timeout-s must be > 0: every call needs a timeout so training never hangs")
        if self.retrieval_retries < 0 or self.retrieval_backoff_s < 0:
            raise ValueError("--retrieval-retries and --retrieval-backoff-s must be >= 0")
        if self.degrade_policy not in DEGRADE_POLICIES:
            raise ValueError(f"--degrade-policy must be one of {DEGRADE_POLICIES}, got {self.degrade_policy!r}")
        if self.format_reward_weight < 0:
            raise ValueError("--format-reward-weight must be >= 0 (0 disables the format reward)")
        super().__post_init__()
