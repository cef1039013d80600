"""Sampling k completions per problem for evaluation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

GenerateFn = Callable[[Sequence[str], int], list[list[str]]]


def make_generate_fn(policy, tokenizer, *, temperature: float, top_p: float, max_new_tokens: int,
                     batch_size: int, seed: int, progress: bool = True) -> GenerateFn:
    """A function (prompts, k) -> k completions per prompt, through the project's batched `trainer.generation`.

    `batch_size` counts sequences, so a batch holds batch_size // k prompts with k samples each. Greedy decoding
    (temperature 0) gives identical samples: it generates once and repeats the completion k times.
    """
    from trainer.generation import generate as batched_generate

    def generate(prompts: Sequence[str], k: int) -> list[list[str]]:
        greedy = temperature == 0.0
        n = 1 if greedy else k
        outputs = batched_generate(policy, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                                   num_samples=n, batch_size=max(1, batch_size // n), seed=seed, top_p=top_p,
                                   progress=progress, desc=f"eval ({n} sample(s)/problem)")
        return [o * k for o in outputs] if greedy else outputs

    return generate
