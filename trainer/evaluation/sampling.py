"""Sampling k completions per problem for evaluation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

GenerateFn = Callable[..., list[list[str]]]  # (prompts, k, seed=None) -> k completions per prompt


def samples_per_prompt(k: int, temperature: float) -> int:
    """Sequences generated per prompt: k, or 1 when greedy (temperature 0 gives k identical samples)."""
    return 1 if temperature == 0.0 else k


def prompts_per_batch(batch_size: int, k: int, temperature: float) -> int:
    """Prompts per forward batch: `batch_size` counts sequences, so a batch holds batch_size // k prompts."""
    return max(1, batch_size // samples_per_prompt(k, temperature))


def make_generate_fn(policy, tokenizer, *, temperature: float, top_p: float, max_new_tokens: int,
                     batch_size: int, seed: int, progress: bool = True) -> GenerateFn:
    """A function (prompts, k, seed=None) -> k completions per prompt, through the project's batched
    `trainer.generation` (seeded with `seed` unless the call gives its own).

    `batch_size` counts sequences, so a batch holds batch_size // k prompts with k samples each. Greedy decoding
    (temperature 0) gives identical samples: it generates once and repeats the completion k times.
    """
    from trainer.generation import generate as batched_generate

    default_seed = seed

    def generate(prompts: Sequence[str], k: int, seed: int | None = None) -> list[list[str]]:
        n = samples_per_prompt(k, temperature)
        outputs = batched_generate(policy, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                                   num_samples=n, batch_size=prompts_per_batch(batch_size, k, temperature),
                                   seed=default_seed if seed is None else seed, top_p=top_p,
                                   progress=progress, desc=f"eval ({n} sample(s)/problem)")
        return [o * k for o in outputs] if n == 1 and k > 1 else outputs

    return generate
