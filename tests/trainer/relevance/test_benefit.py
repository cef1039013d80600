"""The teacher-forced benefit scorer: batching changes nothing but speed; reductions; unencodable text."""

from __future__ import annotations

import math

import pytest

from shared.contract import Demonstration
from shared.errors import UserError


@pytest.fixture(scope="module")
def policy(tiny_policy):
    from trainer.policy.loading import load_policy

    return load_policy(str(tiny_policy))


@pytest.fixture(scope="module")
def pairs(tiny_data):
    from shared.rows import read_split

    train, bank = read_split(tiny_data, "train")[:3], read_split(tiny_data, "bank")[:5]
    return [(q, None) for q in train] + [(q, d) for q in train for d in bank]


def test_batched_equals_one_at_a_time(policy, pairs):
    from trainer.relevance.benefit import BenefitScorer

    model, tok = policy
    batched = BenefitScorer(model, tok, batch_size=7).score(pairs)
    single = BenefitScorer(model, tok, batch_size=1).score(pairs)
    for a, b in zip(batched, single):
        assert a.num_target_tokens == b.num_target_tokens > 0
        assert a.logprob_sum == pytest.approx(b.logprob_sum, abs=1e-3)
        assert a.logprob_sum < 0


def test_matches_unbatched_full_forward(policy, pairs):
    """Against a plain forward pass over the whole sequence: only target tokens count, pads never."""
    import torch

    from trainer.prompting import format_completion, render_prompt
    from trainer.relevance.benefit import BenefitScorer

    model, tok = policy
    q, d = pairs[4]
    prompt = tok(render_prompt(tok, q.problem, [d]), add_special_tokens=False)["input_ids"]
    target = tok(format_completion(q.solution, q.answer), add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + target])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    expected = sum(logp[len(prompt) + i - 1, t].item() for i, t in enumerate(target))
    got = BenefitScorer(model, tok, batch_size=8).score(pairs[:9])[4]
    assert got.logprob_sum == pytest.approx(expected, abs=1e-3)


def test_target_tokens_scores_only_the_solutions_opening(policy, pairs):
    """target_tokens=N: ℓ over y*_1..N, the same numbers a plain forward pass gives for those N tokens."""
    import torch

    from trainer.prompting import format_completion, render_prompt
    from trainer.relevance.benefit import BenefitScorer

    model, tok = policy
    q, d = pairs[4]
    prompt = tok(render_prompt(tok, q.problem, [d]), add_special_tokens=False)["input_ids"]
    target = tok(format_completion(q.solution, q.answer), add_special_tokens=False)["input_ids"]
    n = 5
    assert len(target) > n
    ids = torch.tensor([prompt + target])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    expected = sum(logp[len(prompt) + i - 1, t].item() for i, t in enumerate(target[:n]))
    opening = BenefitScorer(model, tok, batch_size=8, target_tokens=n).score(pairs[:9])
    assert all(s.num_target_tokens == n for s in opening)
    assert opening[4].logprob_sum == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="target_tokens"):
        BenefitScorer(model, tok, target_tokens=0)


def test_reduction_mean_is_per_token(policy, pairs):
    from trainer.relevance.benefit import BenefitScorer, reduce

    model, tok = policy
    s = BenefitScorer(model, tok).score(pairs[:1])[0]
    assert reduce(s, "mean") == pytest.approx(s.logprob_sum / s.num_target_tokens)
    assert reduce(s, "sum") == s.logprob_sum


def test_tokenizer_that_cannot_encode_is_a_user_error(policy, pairs):
    from trainer.relevance.benefit import BenefitScorer

    class NoTokens:
        """A tokenizer that yields nothing for any text (as a broken or mismatched tokenizer does)."""

        pad_token_id = 0
        eos_token_id = 0
        unk_token_id = None

        def __init__(self, real):
            self.real = real

        def apply_chat_template(self, *a, **kw):
            return self.real.apply_chat_template(*a, **kw)

        def __call__(self, text, **kw):
            return {"input_ids": []}

    model, tok = policy
    with pytest.raises(UserError, match="cannot encode"):
        BenefitScorer(model, NoTokens(tok)).score(pairs[:2])


def test_query_without_solution_is_a_user_error(policy):
    from trainer.relevance.benefit import BenefitScorer

    model, tok = policy
    q = Demonstration(id="q", problem="What is 2 + 2?", solution="", answer="4")
    with pytest.raises(UserError, match="no worked solution"):
        BenefitScorer(model, tok).score([(q, None)])


def test_sampled_success_is_a_rate(policy, pairs):
    from trainer.relevance.benefit import sampled_success

    model, tok = policy
    rates = sampled_success(model, tok, pairs[:2], num_samples=2, max_new_tokens=8)
    assert len(rates) == 2 and all(0.0 <= r <= 1.0 and not math.isnan(r) for r in rates)


def test_thinking_templates_score_the_solution_as_the_answer(policy, pairs):
    """With thinking on, the gold solution is scored after an empty trace; with --chat-template-kwargs
    enable_thinking=false the template writes that block itself, and the scored sequence is the same."""
    import copy

    from tests.trainer.test_prompting_verify import THINKING_TEMPLATE
    from trainer.relevance.benefit import BenefitScorer

    model, tok = policy
    thinking = copy.deepcopy(tok)
    thinking.chat_template = THINKING_TEMPLATE
    query = pairs[0][0]
    on, n_on, _ = BenefitScorer(model, thinking).encode_pair(query, None)
    off, n_off, _ = BenefitScorer(model, thinking, template_kwargs={"enable_thinking": False}).encode_pair(query, None)
    assert on == off and n_on == n_off
    think = thinking("<think>\n\n</think>\n\n", add_special_tokens=False)["input_ids"]
    assert on[-n_on - len(think):-n_on] == think  # the empty block sits right before the scored solution
    plain, n_plain, _ = BenefitScorer(model, tok).encode_pair(query, None)
    assert n_plain == n_on and think != plain[-n_plain - len(think):-n_plain]
