r"""Reasoning benefit of a demonstration for a query, measured with the policy.

Teacher-forced benefit (the default, used for distillation)::

    y*            = format_completion(q.solution, q.answer)     # the verified worked solution + boxed answer
    x(d, q)       = render_prompt(tokenizer, q.problem, [d])    # chat prompt with d as the one demonstration
    x(q)          = render_prompt(tokenizer, q.problem, [])     # the same prompt without a demonstration
    ℓ(x)          = Σ_{t=1..T} log p_θ(y*_t | x, y*_<t)          # teacher-forced log-likelihood of y*
    baseline(q)   = ℓ(x(q)) / Z
    benefit(d, q) = ℓ(x(d, q)) / Z − baseline(q)

with Z = T (the number of target tokens, `reduction="mean"`, default) or Z = 1 (`reduction="sum"`).
Within one query both reductions rank candidates identically (T is the same for every d); they differ
across queries: a sum grows with the solution's length, so a long solution would get a sharper teacher
distribution under one distillation temperature. The per-token mean keeps teacher scores of short and long
solutions on one scale, which is why it is the default. Both the sum and T are stored with every label.

Opening span (`target_tokens=N`): the sums run over t = 1..min(N, T) only, the opening of the solution where
the approach is chosen. Under teacher forcing every later token is conditioned on the solution's own earlier
tokens, which already carry the approach, so a demonstration barely moves them and their noise dilutes the
score: on the embedded benchmark N = 8 (about the plan line) gave within-query P(same-strategy > other) 0.80
against 0.62 for the whole solution (docs/relevance.md).

Sampled benefit (optional, `--sampled-n n`): the outcome signal, for users who prefer it::

    success(d, q) = (1/n) Σ_{i=1..n} 1[ is_correct(ŷ_i, q.answer) ],  ŷ_i ~ p_θ(· | x(d, q)) at temperature τ
    sampled_benefit(d, q) = success(d, q) − success(∅, q)

It costs n generations per pair and is noisy at small n; the teacher-forced score needs one forward pass
per pair and is dense, so it is the one the retriever is trained on.

Batching: many (q, d) pairs per forward pass. Sequences are prompt ids + target ids, sorted by length and
LEFT-padded, with position ids from the attention mask, so every target ends at the last position; the model
then computes logits only for the last max(T)+1 positions (`logits_to_keep`), log-softmaxes them one row at a time
(TRL's `selective_log_softmax`), and a mask selects each row's own T target tokens. Prompt and pad tokens never
count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from trl.trainer.utils import selective_log_softmax

from shared.contract import Demonstration
from shared.errors import UserError
from trainer.prompting import answer_prefix, format_completion, render_prompt

Reduction = Literal["mean", "sum"]


@dataclass(frozen=True)
class PairScore:
    logprob_sum: float  # ℓ(x): summed log-probability of the target
    num_target_tokens: int
    truncated: bool  # the prompt was cut from the left to fit max_length


def reduce(score: PairScore, reduction: Reduction) -> float:
    return score.logprob_sum / score.num_target_tokens if reduction == "mean" else score.logprob_sum


class BenefitScorer:
    """Teacher-forced log p(y* | prompt) for many (query, demonstration-or-none) pairs, batched."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 32, max_length: int | None = None,
                 target_tokens: int | None = None, template_kwargs: dict[str, Any] | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if target_tokens is not None and target_tokens < 1:
            raise ValueError("target_tokens must be >= 1 (None = the whole solution)")
        self.target_tokens = target_tokens
        self.template_kwargs = dict(template_kwargs or {})
        self.answer_prefix = answer_prefix(tokenizer, self.template_kwargs)  # a thinking template answers after a trace
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        limit = getattr(getattr(model, "config", None), "max_position_embeddings", None) or 4096
        self.max_length = min(max_length or limit, limit)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.device = next(model.parameters()).device
        self._target_cache: dict[str, list[int]] = {}
        self.tokens_scored = 0  # prompt + target tokens of every scored pair: the work a forward pass does

    # ------------------------------------------------------------------------------------------- encoding

    def _encode(self, text: str, what: str) -> list[int]:
        try:
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        except Exception as exc:  # tokenizers raise assorted types on text they cannot handle
            raise UserError(f"the policy tokenizer cannot encode the {what}: {exc}") from None
        unk = getattr(self.tokenizer, "unk_token_id", None)
        if not ids or (unk is not None and unk in ids):
            raise UserError(
                f"the policy tokenizer cannot encode the {what} "
                f"({'no tokens' if not ids else 'unknown-token ids'}): {text[:80]!r}... Use the policy's own "
                "tokenizer or one trained on this data"
            )
        return ids

    def target_ids(self, query: Demonstration) -> list[int]:
        if query.id not in self._target_cache:
            if not query.solution.strip():
                raise UserError(f"query {query.id!r} has no worked solution: benefit needs the verified solution y*")
            ids = self._encode(format_completion(query.solution, query.answer), f"solution of query {query.id!r}")
            self._target_cache[query.id] = ids[:self.target_tokens] if self.target_tokens else ids
        return self._target_cache[query.id]

    def encode_pair(self, query: Demonstration, demo: Demonstration | None) -> tuple[list[int], int, bool]:
        prompt = render_prompt(self.tokenizer, query.problem, [demo] if demo is not None else [], None,
                               self.template_kwargs) + self.answer_prefix
        what = f"prompt of query {query.id!r}" + (f" with demonstration {demo.id!r}" if demo else "")
        p_ids, t_ids = self._encode(prompt, what), self.target_ids(query)
        if len(t_ids) >= self.max_length:
            raise UserError(f"the solution of query {query.id!r} has {len(t_ids)} tokens; max_length is {self.max_length}")
        room = self.max_length - len(t_ids)
        truncated = len(p_ids) > room
        return (p_ids[-room:] if truncated else p_ids) + t_ids, len(t_ids), truncated

    # -------------------------------------------------------------------------------------------- scoring

    @torch.inference_mode()
    def _forward(self, batch: list[tuple[list[int], int]]) -> list[float]:
        width = max(len(ids) for ids, _ in batch)
        tmax = max(t for _, t in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        target_mask = torch.zeros((len(batch), tmax), dtype=torch.bool)
        for row, (ids, t) in enumerate(batch):
            input_ids[row, width - len(ids):] = torch.tensor(ids)
            attention[row, width - len(ids):] = 1
            target_mask[row, tmax - t:] = True
        position_ids = (attention.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                         position_ids=position_ids.to(self.device), logits_to_keep=tmax + 1, use_cache=False)
        logits = out.logits[:, :-1]  # position j predicts token j+1: the last tmax tokens
        labels = input_ids[:, -tmax:].to(self.device)
        # row by row (TRL's helper): no batch x tmax x vocab fp32 log_softmax, which for a 151k vocabulary is GBs
        logp = selective_log_softmax(logits.float() if logits.dtype == torch.float16 else logits, labels)
        return (logp.float() * target_mask.to(self.device)).sum(-1).tolist()

    def score(self, pairs: Sequence[tuple[Demonstration, Demonstration | None]], progress: Any = None) -> list[PairScore]:
        """ℓ and T for each (query, demo) pair (demo None = baseline), in the given order."""
        encoded = [self.encode_pair(q, d) for q, d in pairs]
        self.tokens_scored += sum(len(ids) for ids, _, _ in encoded)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]), reverse=True)
        sums: list[float] = [0.0] * len(encoded)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            for i, s in zip(idx, self._forward([(encoded[i][0], encoded[i][1]) for i in idx])):
                sums[i] = s
            if progress is not None:
                progress(len(idx))
        return [PairScore(s, t, tr) for s, (_, t, tr) in zip(sums, encoded)]


def sampled_success(model: Any, tokenizer: Any, pairs: Sequence[tuple[Demonstration, Demonstration | None]],
                    num_samples: int, temperature: float = 1.0, max_new_tokens: int = 256, batch_size: int = 32,
                    seed: int = 0, template_kwargs: dict[str, Any] | None = None) -> list[float]:
    """success(d, q): fraction of `num_samples` sampled completions that math-verify accepts."""
    from trainer.generation import generate
    from trainer.verify import is_correct

    prompts = [render_prompt(tokenizer, q.problem, [d] if d is not None else [], None, template_kwargs) for q, d in pairs]
    completions = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                           num_samples=num_samples, batch_size=batch_size, seed=seed, progress=False)
    return [sum(is_correct(c, q.answer) for c in outs) / len(outs) for (q, _), outs in zip(pairs, completions)]
