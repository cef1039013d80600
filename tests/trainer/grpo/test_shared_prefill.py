"""The trainer's shared prefill: the same completions as TRL's own generation path, one prefill per prompt group."""

from __future__ import annotations

import pytest
import torch

from tests.trainer.grpo.conftest import make_trainer
from trainer.grpo.trainer import equal_run_length


def test_equal_run_length():
    assert equal_run_length([[1], [1], [2, 3], [2, 3]]) == 2
    assert equal_run_length([[1], [1], [1]]) == 3
    assert equal_run_length([[1], [2]]) == 1
    assert equal_run_length([[1], [1], [2]]) == 1  # unequal runs: TRL's path
    assert equal_run_length([[1], [1], [2], [1]]) == 1
    assert equal_run_length([]) == 1


def test_shared_prefill_generates_what_trl_generates(tiny_policy, tiny_data, tmp_path, monkeypatch):
    import trainer.grpo.trainer as module

    # temperature 1e-4: sampling is argmax, so both paths must give the very same token ids
    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", tmp_path / "run", temperature=1e-4, max_steps=1)
    tok = trainer.processing_class
    prompts = [trainer.train_dataset[i]["prompt"] for i in range(3)]
    prompts[1] = prompts[1] + prompts[0] + prompts[2]  # unequal lengths (left padding), long enough to share
    ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    repeated = [x for x in ids for _ in range(2)]
    calls = []
    real_prefill = module.prefill_shared

    def counting(model, input_ids, attention_mask, repeats):
        calls.append((input_ids.shape[0], repeats))
        return real_prefill(model, input_ids, attention_mask, repeats)

    monkeypatch.setattr(module, "prefill_shared", counting)
    torch.manual_seed(0)
    shared, _ = trainer._generate_single_turn(repeated, None, {}, 2)
    trainer.args.share_prefill = False
    torch.manual_seed(0)
    plain, _ = trainer._generate_single_turn(repeated, None, {}, 2)
    assert calls == [(3, 2)]  # one prefill of the 3 distinct prompts, each cache repeated for its 2 samples
    assert shared == plain
    assert len(shared) == 6 and all(len(c) > 0 for c in shared)


def _rows(trainer, repeats: int = 2):
    """[left-padded prompt | right-padded completion] rows as TRL builds them, each prompt repeated `repeats` times."""
    tok = trainer.processing_class
    prompts = [trainer.train_dataset[i]["prompt"] for i in range(3)]
    prompts = [prompts[0] + prompts[1] + prompts[2], prompts[1] + prompts[2]]  # unequal lengths, long enough to share
    p_ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    c_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in
             ["Plan: add. 2 + 3 = 5. Answer: \\boxed{5}", "7", "Answer: \\boxed{12} and more words here", "x + y"]]
    pw, cw = max(map(len, p_ids)), max(map(len, c_ids))
    pad = tok.pad_token_id
    ids, mask = [], []
    for i, c in enumerate(c_ids):
        p = p_ids[i // repeats]
        ids.append([pad] * (pw - len(p)) + p + c + [pad] * (cw - len(c)))
        mask.append([0] * (pw - len(p)) + [1] * len(p) + [1] * len(c) + [0] * (cw - len(c)))
    return torch.tensor(ids), torch.tensor(mask), cw


@pytest.mark.parametrize("order", ["runs", "shuffled"])
def test_shared_prompt_loss_equals_trls_logps_entropies_and_gradients(tiny_policy, tiny_data, tmp_path, order):
    # TRL shuffles a generation batch's rows before the loss, so a prompt's samples reach it scattered
    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", tmp_path / "run", max_steps=1)
    model = trainer.model
    model.train()
    ids, mask, keep = _rows(trainer)
    if order == "shuffled":
        perm = torch.tensor([2, 0, 3, 1])
        ids, mask = ids[perm], mask[perm]

    forwards = []
    model.model.register_forward_hook(lambda module, args, kwargs, out: forwards.append(kwargs["input_ids"].shape[0]),
                                      with_kwargs=True)

    def run(share: bool):
        trainer.args.share_prefill = share
        forwards.clear()
        model.zero_grad()
        logps, entropy, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, compute_entropy=True)
        completion_mask = mask[:, -keep:].float()
        (logps * completion_mask).sum().backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        # shared: the 2 distinct prompts once, then the 4 rows' completions on top
        assert forwards == ([2, 4] if share else [4])
        return logps.detach() * completion_mask, entropy.detach() * completion_mask, grads

    shared, plain = run(True), run(False)
    torch.testing.assert_close(shared[0], plain[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(shared[1], plain[1], atol=1e-4, rtol=1e-4)
    assert shared[2].keys() == plain[2].keys() and len(plain[2]) > 0
    for name in plain[2]:
        torch.testing.assert_close(shared[2][name], plain[2][name], atol=1e-4, rtol=1e-3, msg=name)
