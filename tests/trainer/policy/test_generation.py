"""Batched generation: caller order, left padding that does not change greedy results, samples, EOS stop."""

from __future__ import annotations

import pytest

from trainer.generation import generate
from trainer.prompting import render_prompt


def _prompts(tok, rows, bank):
    # mixed lengths (0 to 2 demonstrations) so batches really are padded
    return [render_prompt(tok, r.problem, bank[: i % 3]) for i, r in enumerate(rows)]


def test_batched_greedy_equals_one_at_a_time(untrained_model, trained_tokenizer, tiny_rows):
    prompts = _prompts(trained_tokenizer, tiny_rows["test"][:6], tiny_rows["bank"])
    batched = generate(untrained_model, trained_tokenizer, prompts, max_new_tokens=10, batch_size=4, progress=False)
    single = [generate(untrained_model, trained_tokenizer, [p], max_new_tokens=10, progress=False)[0] for p in prompts]
    assert batched == single
    assert len(batched) == 6 and all(len(c) == 1 for c in batched)


def test_sampling_returns_num_samples_and_is_seeded(untrained_model, trained_tokenizer, tiny_rows):
    prompts = _prompts(trained_tokenizer, tiny_rows["test"][:3], tiny_rows["bank"])
    a = generate(untrained_model, trained_tokenizer, prompts, max_new_tokens=8, temperature=1.0, num_samples=3, seed=7, progress=False)
    b = generate(untrained_model, trained_tokenizer, prompts, max_new_tokens=8, temperature=1.0, num_samples=3, seed=7, progress=False)
    assert a == b
    assert [len(c) for c in a] == [3, 3, 3]
    assert len({s for c in a for s in c}) > 1  # an untrained model sampled at T=1 does not repeat itself


def test_stops_at_eos(untrained_model, trained_tokenizer):
    # make EOS the most likely next token everywhere: generation must stop after one step
    eos = trained_tokenizer.eos_token_id

    def prefer_eos(module, inputs, logits):
        logits = logits.clone()
        logits[..., eos] = logits.max() + 10.0
        return logits

    untrained_model.get_output_embeddings().register_forward_hook(prefer_eos)
    out = generate(untrained_model, trained_tokenizer, [render_prompt(trained_tokenizer, "1 + 1?")], max_new_tokens=20, progress=False)
    assert out == [[""]]


def test_rejects_greedy_multi_sample_and_empty(untrained_model, trained_tokenizer):
    with pytest.raises(ValueError):
        generate(untrained_model, trained_tokenizer, ["x"], num_samples=2, temperature=0.0)
    assert generate(untrained_model, trained_tokenizer, []) == []


def test_shared_prefill_gives_the_logits_of_the_full_prompt(untrained_model, trained_tokenizer, tiny_rows):
    import torch

    from trainer.generation import prefill_shared

    prompts = _prompts(trained_tokenizer, tiny_rows["test"][:4], tiny_rows["bank"])
    trained_tokenizer.padding_side = "left"
    batch = trained_tokenizer(prompts, add_special_tokens=False, padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert (mask == 0).any()  # really left-padded
    with torch.inference_mode():
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        full = untrained_model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
        cache = prefill_shared(untrained_model, ids, mask, repeats=3)
        assert cache.get_seq_length() == ids.shape[1] - 1
        reps = ids.repeat_interleave(3, 0)
        last = untrained_model(input_ids=reps[:, -1:], attention_mask=mask.repeat_interleave(3, 0),
                               position_ids=positions.repeat_interleave(3, 0)[:, -1:], cache=cache).logits[:, -1]
    torch.testing.assert_close(last, full.repeat_interleave(3, 0), atol=1e-4, rtol=1e-4)


def test_shared_prefill_samples_like_num_return_sequences(untrained_model, trained_tokenizer, tiny_rows):
    # at a temperature this low, sampling is argmax: both paths must produce the same k completions per prompt
    prompts = _prompts(trained_tokenizer, tiny_rows["test"][:5], tiny_rows["bank"])
    kw = dict(max_new_tokens=12, temperature=1e-4, num_samples=3, batch_size=6, seed=3, progress=False)
    shared = generate(untrained_model, trained_tokenizer, prompts, share_prefill=True, **kw)
    plain = generate(untrained_model, trained_tokenizer, prompts, share_prefill=False, **kw)
    assert shared == plain
    assert [len(c) for c in shared] == [3] * 5


def test_short_prompts_are_not_worth_sharing(untrained_model, trained_tokenizer):
    import torch

    from trainer.generation import SHARED_PREFILL_MIN_TOKENS, prefill_shared

    ids = torch.ones(2, SHARED_PREFILL_MIN_TOKENS, dtype=torch.long)  # width - 1 < the minimum: no shared prefill
    assert prefill_shared(untrained_model, ids, torch.ones_like(ids), repeats=4) is None
    assert prefill_shared(untrained_model, torch.ones(2, 300, dtype=torch.long), torch.ones(2, 300, dtype=torch.long),
                          repeats=1) is None
