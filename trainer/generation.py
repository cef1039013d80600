"""Batched generation for the policy: accuracy checks, evaluation and the trainer's tools share it.

Prompts are sorted by length and left-padded, so each batch wastes little compute on padding and every row's
completion starts at the same position; results come back in the caller's order.

Several samples of one prompt share its prefill (`prefill_shared`): the prompt is run once and its KV cache is
repeated per sample, instead of `num_return_sequences` running the same prompt k times. With demonstrations in the
prompt that repeated prefill is much of a batch's compute (docs/trainer.md, "Shared prefill").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tqdm.auto import tqdm


def _stop_ids(model: Any, tokenizer: Any) -> list[int]:
    """EOS ids from the generation config and the tokenizer (a chat model may stop on <|im_end|> or eos)."""
    ids: list[int] = []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.append(configured)
    elif configured:
        ids.extend(int(i) for i in configured)
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    return sorted(set(ids))


# Below this prompt width the extra forward call and the cache copy cost more than the repeated prefill saves: on the
# toy policy, k = 8 samples of ~100-token prompts ran slower shared, ~350-token prompts faster (docs/trainer.md).
SHARED_PREFILL_MIN_TOKENS = 192


def prefill_shared(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, repeats: int) -> Any | None:
    """The KV cache of each left-padded prompt but its last token, computed once and repeated `repeats` times per row.

    Pass it to `model.generate` with the prompts repeated the same way (`repeat_interleave(repeats, 0)`): generate
    then runs only each prompt's last token, at the positions it would have computed itself (attention-mask cumsum).
    None when there is nothing worth sharing: one sample, or prompts shorter than SHARED_PREFILL_MIN_TOKENS.
    """
    if repeats < 2 or input_ids.shape[1] - 1 < SHARED_PREFILL_MIN_TOKENS:
        return None
    from transformers import DynamicCache

    ids, mask = input_ids[:, :-1], attention_mask[:, :-1]
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    cache = DynamicCache(config=model.config)
    model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
          logits_to_keep=1)
    cache.batch_repeat_interleave(repeats)
    return cache


@torch.inference_mode()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    num_samples: int = 1,
    batch_size: int = 32,
    seed: int | None = 0,
    top_p: float = 1.0,
    progress: bool = True,
    desc: str = "generate",
    share_prefill: bool = True,
) -> list[list[str]]:
    """Completions for each prompt: `num_samples` strings per prompt, greedy when temperature is 0.

    Prompts are already rendered text (see trainer.prompting.render_prompt), so no special tokens are added.
    Decoding stops at EOS; special tokens are stripped from the returned text. `share_prefill=False` gives HF's
    own `num_return_sequences` path (the reference the shared prefill is tested and benchmarked against).
    """
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    if temperature <= 0 and num_samples > 1:
        raise ValueError("greedy decoding (temperature 0) gives identical samples; set temperature > 0")
    if not prompts:
        return []
    if seed is not None:
        torch.manual_seed(seed)
    stop = _stop_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop[0]
    saved_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    results: list[list[str]] = [[] for _ in prompts]
    sampling = temperature > 0
    gen_kwargs: dict[str, Any] = dict(
        max_new_tokens=max_new_tokens,
        do_sample=sampling,
        eos_token_id=stop,
        pad_token_id=pad_id,
    )
    if sampling:
        gen_kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    else:  # a saved generation_config may carry sampling knobs; greedy must not warn about or use them
        gen_kwargs.update(temperature=None, top_p=None, top_k=None)
    try:
        bar = tqdm(total=len(prompts), desc=desc, disable=not progress, unit="prompt")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            input_ids, attention_mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
            cache = prefill_shared(model, input_ids, attention_mask, num_samples) if share_prefill else None
            if cache is not None:
                out = model.generate(input_ids=input_ids.repeat_interleave(num_samples, 0),
                                     attention_mask=attention_mask.repeat_interleave(num_samples, 0),
                                     cache=cache, **gen_kwargs)
            else:
                out = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                     num_return_sequences=num_samples, **gen_kwargs)
            new = out[:, input_ids.shape[1] :]
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            for j, i in enumerate(idx):
                results[i] = [t.strip() for t in texts[j * num_samples : (j + 1) * num_samples]]
            bar.update(len(idx))
        bar.close()
    finally:
        tokenizer.padding_side = saved_side
        model.train(was_training)
    return results
