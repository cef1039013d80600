"""TRL reward functions: the verifiable outcome (math-verify accuracy) and an optional format reward.

TRL calls each with the prompts, the completions and every dataset column as keyword lists (one entry per
rollout), and logs `rewards/<function name>/mean` per function; the names below are those keys.
"""

from __future__ import annotations

import re
from typing import Any

from trainer.verify import answer_part, extract_boxed, is_correct

_ANSWER_LINE = re.compile(r"Answer:\s*\\boxed\{[^{}]*\}\s*$")


def _text(completion: Any) -> str:
    """Completions are strings for text prompts and message lists for conversational ones."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict))
    return str(completion)


def accuracy(completions: list[Any], answer: list[str], **_: Any) -> list[float]:
    """1.0 when the completion's last \\boxed{} answer equals the gold `answer` under math-verify, else 0.0."""
    return [1.0 if is_correct(_text(c), gold) else 0.0 for c, gold in zip(completions, answer, strict=True)]


def format_reward(completions: list[Any], **_: Any) -> list[float]:
    """1.0 when the completion ends with the prompt's `Answer: \\boxed{N}` line, 0.5 for a boxed answer elsewhere."""
    scores = []
    for c in completions:
        text = (answer_part(_text(c)) or "").strip()  # an unfinished <think> trace has no answer to format
        scores.append(1.0 if _ANSWER_LINE.search(text) else 0.5 if extract_boxed(text) is not None else 0.0)
    return scores


format_reward.__name__ = "format"


def reward_functions(format_weight: float) -> tuple[list, list[float]]:
    """Reward functions and their weights for `GRPOTrainer(reward_funcs=...)` / `GRPOConfig.reward_weights`."""
    funcs: list = [accuracy]
    weights = [1.0]
    if format_weight > 0:
        funcs.append(format_reward)
        weights.append(format_weight)
    return funcs, weights
