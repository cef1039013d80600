"""Greedy test accuracy with no demonstration, a random bank demonstration and a same-strategy one (when the bank
names strategies).

The gap between same-strategy and none is what a reasoning-aware retriever can exploit; random shows what a
retriever that ignores strategy would get. The test problem itself is never its own demonstration.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from shared.contract import Demonstration
from trainer.generation import generate
from trainer.policy.warmstart import StrategyIndex
from trainer.prompting import render_prompt
from trainer.verify import is_correct

CONDITIONS = ("none", "random", "same_strategy")


def demo_contexts(test: Sequence[Demonstration], bank: Sequence[Demonstration], seed: int,
                  num_demos: int = 1) -> dict[str, list[list[Demonstration]]]:
    """Per condition, the demonstrations shown with each test problem (fixed by the seed)."""
    rng = random.Random(seed)
    index = StrategyIndex(bank)
    contexts = {
        "none": [[] for _ in test],
        "random": [index.draw(rng, row, "random", num_demos) for row in test],
    }
    if index.labelled:  # without strategy labels there is no same-strategy condition to measure
        contexts["same_strategy"] = [index.draw(rng, row, "same", num_demos) for row in test]
    return contexts


def policy_accuracy(model: Any, tokenizer: Any, test: Sequence[Demonstration], bank: Sequence[Demonstration], *,
                    seed: int = 0, num_demos: int = 1, max_new_tokens: int = 192, batch_size: int = 64,
                    progress: bool = True) -> dict[str, float]:
    """Greedy accuracy (0..1) on `test` under each condition in CONDITIONS the bank allows, plus `condition/wording`
    for rows that carry a wording mark (the embedded benchmark's familiar / novel question wordings)."""
    if not test:
        raise ValueError("accuracy needs at least one test problem")
    contexts = demo_contexts(test, bank, seed, num_demos)
    accuracy: dict[str, float] = {}
    for condition in contexts:
        prompts = [render_prompt(tokenizer, row.problem, demos) for row, demos in zip(test, contexts[condition])]
        completions = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=0.0,
                               batch_size=batch_size, seed=seed, progress=progress, desc=f"accuracy/{condition}")
        correct = [is_correct(c[0], row.answer) for c, row in zip(completions, test)]
        accuracy[condition] = sum(correct) / len(test)
        by_wording: dict[str, list[bool]] = {}
        for ok, row in zip(correct, test):
            if "wording" in row.metadata:
                by_wording.setdefault(str(row.metadata["wording"]), []).append(ok)
        for wording, oks in sorted(by_wording.items()):  # e.g. `none/novel`: the benchmark's held-out wordings
            accuracy[f"{condition}/{wording}"] = sum(oks) / len(oks)
    return accuracy
