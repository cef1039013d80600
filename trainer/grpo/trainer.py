"""`RARFTTrainer`: TRL's GRPOTrainer that fetches analogous demonstrations over HTTP for each rollout batch.

The hook is `GRPOTrainer._generate_and_score_completions(inputs)` (private in trl 1.16, hence the pin): it receives
each generation batch's rows right before generation, and the prompts it is given are the ones generated from,
trained on and rewarded. Prefetch comes from `get_batch_samples`, which the Trainer calls once per optimizer
step: peeking one batch ahead there lets the next batch's HTTP call run while this batch generates.
See docs/trainer.md for the design note.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import DistributedType, gather_object
from trl import GRPOTrainer
from trl.models import unwrap_model_for_generation
from trl.trainer.utils import pad

from shared.contract import Feedback
from trainer.client import RetrievalClient, RetrievalError
from trainer.grpo.config import RARFTConfig
from trainer.grpo.retrieval import NO_RETRIEVAL_ARM, BatchRetrieval, RetrievalFailed, RolloutRetriever, batch_key
from trainer.grpo.rewards import reward_functions
from trainer.generation import SHARED_PREFILL_MIN_TOKENS, prefill_shared

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 256  # batches kept in memory for inspection (tests, notebooks); the JSONL log keeps all


def equal_run_length(rows: list[list[int]]) -> int:
    """r when `rows` is runs of r identical consecutive rows (TRL's sampler repeats each prompt), else 1."""
    if not rows:
        return 1
    r = 1
    while r < len(rows) and rows[r] == rows[0]:
        r += 1
    if len(rows) % r or any(rows[i] != rows[i - i % r] for i in range(len(rows))):
        return 1
    return r


class RARFTTrainer(GRPOTrainer):
    """GRPO with retrieval at rollout time. With `args.retrieval_url=None` it is plain GRPO on the same path.

    Args:
        model: a model path / hub id or a loaded `PreTrainedModel` (as GRPOTrainer).
        args: `RARFTConfig`.
        train_dataset: rows with `id`, `problem`, `answer` (+ `strategy`...) and a `prompt` column (the
            problem rendered without demonstrations); see `trainer.grpo.dataset.train_dataset`.
        reward_funcs: defaults to `trainer.grpo.rewards.reward_functions(args.format_reward_weight)`.
        client: an existing `RetrievalClient` (default: one built from the args' URL, timeout and retries).
    """

    def __init__(self, model: Any, args: RARFTConfig, train_dataset: Any, processing_class: Any = None,
                 reward_funcs: list[Callable] | None = None, client: RetrievalClient | None = None,
                 **kwargs: Any) -> None:
        if reward_funcs is None:
            reward_funcs, weights = reward_functions(args.format_reward_weight)
            if args.reward_weights is None:
                args.reward_weights = weights
        self._captured_rewards: dict[str, list[float | None]] = {}
        super().__init__(model=model, reward_funcs=[self._capture(f) for f in reward_funcs], args=args,
                         train_dataset=train_dataset, processing_class=processing_class, **kwargs)
        if client is None and args.retrieval_url:
            client = RetrievalClient(args.retrieval_url, timeout_s=args.retrieval_timeout_s,
                                     retries=args.retrieval_retries, backoff_s=args.retrieval_backoff_s)
        self.retrieval = RolloutRetriever(
            client, self.processing_class, k=args.retrieval_k, budget_tokens=args.demo_budget_tokens,
            version=args.retriever_version, routing_key=args.routing_key, degrade_policy=args.degrade_policy,
            prefetch=args.retrieval_prefetch, template_kwargs=args.chat_template_kwargs,
        )
        self.retrieval_history: list[dict[str, Any]] = []
        self.degraded_total = 0  # batches trained without demonstrations after a retrieval failure (all processes)
        self.run_id = args.run_id or Path(args.output_dir).name or "rarft"
        self._lookahead: tuple[Any, Any] | None = None
        self._feedback_warned = False

    # ------------------------------------------------------------------------------------------- rewards

    def _capture(self, func: Callable) -> Callable:
        """Wrap a reward function so the trainer sees each rollout's reward (for reward per arm)."""
        name = getattr(func, "__name__", type(func).__name__)

        def captured(*args: Any, **kwargs: Any) -> list[float | None]:
            values = func(*args, **kwargs)
            self._captured_rewards[name] = list(values)
            return values

        captured.__name__ = name
        captured.__doc__ = func.__doc__
        return captured

    def _rollout_rewards(self, n: int) -> list[float]:
        weights = self.reward_weights.tolist()
        totals = [0.0] * n
        for (name, values), w in zip(self._captured_rewards.items(), weights, strict=False):
            for j, v in enumerate(values[:n]):
                if v is not None and not (isinstance(v, float) and math.isnan(v)):
                    totals[j] += w * float(v)
        return totals

    # ------------------------------------------------------------------------------------------- the hook

    def get_batch_samples(self, epoch_iterator: Any, num_batches: int, device: Any) -> tuple[list, Any]:
        """As Trainer's, plus one batch of lookahead whose retrieval starts now (prefetch)."""
        batches: list = []
        if self._lookahead is not None and self._lookahead[0] is epoch_iterator:
            batches.append(self._lookahead[1])
        self._lookahead = None
        while len(batches) < num_batches:
            try:
                batches.append(next(epoch_iterator))
            except StopIteration:
                break
        if self.retrieval.prefetch_enabled and len(batches) == num_batches:  # only the train loop calls this
            try:
                upcoming = next(epoch_iterator)
            except StopIteration:
                upcoming = None
            if upcoming is not None:
                self._lookahead = (epoch_iterator, upcoming)
                # With steps_per_generation > 1 TRL's sampler yields each generation batch that many times and
                # generates from the first only: a repeat is never augmented, so fetching it would be wasted.
                if not batches or batch_key(upcoming) != batch_key(batches[-1]):
                    self.retrieval.prefetch(upcoming)
        return batches, self._get_num_items_in_batch(batches, device)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        mode = "train" if self.model.training else "eval"
        try:
            batch = self.retrieval.augment(inputs)
        except RetrievalFailed as exc:
            self._stop_with_checkpoint(exc)
        rows = [{**row, "prompt": prompt, "retriever_arm": arm}
                for row, prompt, arm in zip(inputs, batch.prompts, batch.arms, strict=True)]
        self._pending_extra_logs["retriever_arm"].extend(batch.arms)  # completions table: arm per rollout
        self._captured_rewards.clear()
        output = super()._generate_and_score_completions(rows)
        self._record(batch, rows, mode)
        return output

    # ------------------------------------------------------------------------------------------- generation

    def _generate_single_turn(self, prompt_ids: list[list[int]], images: Any, multimodal_fields: dict[str, Any],
                              num_generations: int, has_tool_images: bool = False) -> tuple[list[list[int]], Any]:
        """TRL's HF-generate path, with each prompt's prefill run once for its group of samples.

        The sampler repeats every prompt `num_generations` times in a row, so TRL's path prefills each prompt that
        many times; with long demonstrations in the prompt that repeated prefill can dominate. Anything
        else (vLLM, continuous batching, images, a configured cache implementation, prompts not in equal runs)
        goes to TRL unchanged.
        """
        repeats = equal_run_length(prompt_ids)
        if (not self.args.share_prefill or repeats < 2 or max(map(len, prompt_ids)) - 1 < SHARED_PREFILL_MIN_TOKENS
                or self.use_vllm or self.use_transformers_continuous_batching
                or images is not None or multimodal_fields
                or self.generation_config.cache_implementation is not None):  # a static cache: generate builds it
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations,
                                                 has_tool_images)
        unique = [torch.tensor(ids) for ids in prompt_ids[::repeats]]
        input_ids = pad(unique, padding_value=self._tokenizer.pad_token_id, padding_side="left")
        attention_mask = pad([torch.ones_like(t) for t in unique], padding_value=0, padding_side="left")
        width = input_ids.shape[1]
        device = self.accelerator.device
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        with (
            unwrap_model_for_generation(
                self.model_wrapped, self.accelerator,
                gather_deepspeed3_params=self.args.ds3_gather_for_generation,
                generation_kwargs=self.generation_kwargs,
                gradient_checkpointing_kwargs=self.args.gradient_checkpointing_kwargs,
            ) as model,
            torch.no_grad(),
            self._dist.summon_full_params(self.model_wrapped, recurse=False),
        ):
            cache = prefill_shared(model, input_ids, attention_mask, repeats)
            out = model.generate(input_ids=input_ids.repeat_interleave(repeats, 0),
                                 attention_mask=attention_mask.repeat_interleave(repeats, 0),
                                 cache=cache, generation_config=self.generation_config)
        completion_ids = out[:, width:].cpu()
        stops = set(self.eos_token_ids)
        completions = []
        for row in completion_ids.tolist():
            end = next((i for i, tok in enumerate(row) if tok in stops), None)
            completions.append(row if end is None else row[: end + 1])  # TRL keeps the EOS token, drops what follows
        return completions, None

    def _get_per_token_logps_and_entropies(self, model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                                           logits_to_keep: int, batch_size: int | None = None,
                                           compute_entropy: bool = False, compute_aux_loss: bool = False,
                                           **multimodal: Any) -> tuple[torch.Tensor, Any, Any]:
        """TRL's log-probs of the completion tokens, with each distinct prompt run once for all of its samples.

        The rows are [left-padded prompt | right-padded completion]. TRL shuffles a generation batch's rows before the
        loss, so a prompt's samples are scattered: the shared path finds each distinct prompt (`torch.unique` over its
        ids and mask), runs it but its last token once (with gradients), gathers that KV cache back to every row that
        has it, and runs [last prompt token | completion] on top: the same positions, mask and log-probs as TRL's full
        rows (tested to agree), with the long demonstrations in the prompt computed once instead of `num_generations`
        times in the forward and the backward. Multimodal inputs, MoE aux losses, distributed wrappers and activation
        checkpointing go to TRL, and so does a batch in which no prompt repeats.
        """
        width = input_ids.shape[1] - logits_to_keep
        keys = torch.cat([input_ids[:, :width], attention_mask[:, :width].to(input_ids.dtype)], 1)
        repeated = width - 1 >= SHARED_PREFILL_MIN_TOKENS and torch.unique(keys, dim=0).shape[0] < keys.shape[0]
        unwrapped = self.accelerator.unwrap_model(model)
        if (not self.args.share_prefill or not repeated or compute_aux_loss
                or any(v is not None for v in multimodal.values())
                or self.accelerator.distributed_type != DistributedType.NO  # one backward per forward under DDP/FSDP
                or getattr(unwrapped, "is_activation_checkpointing", False)):  # checkpointed layers drop the cache
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                compute_entropy=compute_entropy, compute_aux_loss=compute_aux_loss, **multimodal)
        from transformers import DynamicCache

        config = unwrapped.config
        rows = batch_size or input_ids.shape[0]
        logps, entropies = [], []
        for start in range(0, input_ids.shape[0], rows):
            ids, mask = input_ids[start:start + rows], attention_mask[start:start + rows]
            distinct, row_of = torch.unique(keys[start:start + rows], dim=0, return_inverse=True)
            cache = DynamicCache(config=config)
            with self.accelerator.autocast():
                model(input_ids=distinct[:, :width - 1], attention_mask=distinct[:, width:2 * width - 1],
                      cache=cache, use_cache=True, logits_to_keep=1)
                cache.reorder_cache(row_of)  # each row gets its prompt's keys and values (a differentiable gather)
                tail = ids[:, width - 1:]  # the last prompt token predicts the first completion token
                labels = tail.masked_fill(mask[:, width - 1:] == 0, -100)
                outputs = model(input_ids=tail, attention_mask=mask, cache=cache, labels=labels, fused_lm_head=True)
            logps.append(outputs.log_probs[:, -logits_to_keep:])
            if compute_entropy:
                entropies.append(outputs.entropy[:, -logits_to_keep:])
        return torch.cat(logps), (torch.cat(entropies) if compute_entropy else None), None

    # ------------------------------------------------------------------------------------------- faults

    def _stop_with_checkpoint(self, exc: Exception) -> None:
        """degrade_policy='fail': save a resumable checkpoint of the last finished step, then stop."""
        self._save_checkpoint(self.model, trial=None)
        checkpoint = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
        raise RetrievalFailed(
            f"retrieval service failed after {self.args.retrieval_retries} retries ({exc}); stopped at step "
            f"{self.state.global_step} with a checkpoint at {checkpoint}. Fix the service, then rerun with "
            f"--resume-from-checkpoint {checkpoint} (or use --degrade-policy degrade to train on without "
            f"demonstrations)."
        ) from exc

    def train(self, *args: Any, **kwargs: Any) -> Any:
        client = self.retrieval.client
        if client is not None:
            try:
                client.wait_ready(self.args.retrieval_wait_ready_s)
            except RetrievalError as exc:
                if self.args.degrade_policy == "fail":
                    raise RetrievalFailed(f"{exc}; start the service (rarft serve) or check --retrieval-url") from exc
                logger.warning("%s; training starts anyway (degrade_policy=degrade)", exc)
        try:
            return super().train(*args, **kwargs)
        finally:
            self._lookahead = None

    # ------------------------------------------------------------------------------------------- logging

    def _record(self, batch: BatchRetrieval, rows: list[dict[str, Any]], mode: str) -> None:
        """Retrieval metrics (gathered over processes), reward per arm, feedback and the JSONL log."""
        rewards = self._rollout_rewards(len(rows))
        local = {
            "arms": batch.arms, "rewards": rewards, "num_demos": batch.num_demos,
            "latency_ms": batch.latency_ms if batch.version else None, "wait_ms": batch.wait_ms,
            "degraded": int(batch.degraded),
        }
        stats = gather_object([local])
        metrics = self._metrics[mode]
        if self.retrieval.enabled:
            latencies = [s["latency_ms"] for s in stats if s["latency_ms"] is not None]
            if latencies:
                metrics["retrieval/latency_ms"].append(sum(latencies) / len(latencies))
            metrics["retrieval/wait_ms"].append(sum(s["wait_ms"] for s in stats) / len(stats))
            metrics["retrieval/degraded"].append(float(sum(s["degraded"] for s in stats)))
            self.degraded_total += sum(s["degraded"] for s in stats)
            metrics["retrieval/degraded_total"].append(float(self.degraded_total))
            if self.retrieval.client is not None and len(self.retrieval.client.urls) > 1:
                metrics["retrieval/failovers_total"].append(float(self.retrieval.client.failovers))
        demos = [n for s in stats for n in s["num_demos"]]
        metrics["retrieval/with_demos"].append(sum(1 for n in demos if n) / max(1, len(demos)))
        metrics["retrieval/demos_per_prompt"].append(sum(demos) / max(1, len(demos)))
        per_arm: dict[str, list[float]] = defaultdict(list)
        for s in stats:
            for arm, r in zip(s["arms"], s["rewards"], strict=True):
                per_arm[arm].append(r)
        for arm, values in per_arm.items():
            metrics[f"retrieval/arm/{arm}/reward"].append(sum(values) / len(values))
            metrics[f"retrieval/arm/{arm}/rollouts"].append(float(len(values)))
        entry = {
            "step": self.state.global_step, "mode": mode, "process": self.accelerator.process_index,
            "version": batch.version, "latency_ms": round(batch.latency_ms, 2), "wait_ms": round(batch.wait_ms, 2),
            "prefetched": batch.prefetched, "degraded": batch.degraded, "error": batch.error,
            "with_demos": sum(1 for n in batch.num_demos if n) / max(1, len(batch.num_demos)),
            "problem_ids": list(dict.fromkeys(str(r["id"]) for r in rows)), "demo_ids": batch.demo_ids,
            "reward_per_arm": {a: sum(v) / len(v) for a, v in per_arm.items()},
        }
        self.retrieval_history.append({**entry, "prompts": batch.prompts})
        del self.retrieval_history[:-HISTORY_LIMIT]
        if self.args.output_dir:
            suffix = "" if self.accelerator.num_processes == 1 else f".rank{self.accelerator.process_index}"
            path = Path(self.args.output_dir) / f"retrieval_log{suffix}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as f:
                f.write(json.dumps(entry) + "\n")
        if mode == "train" and self.args.feedback and self.accelerator.is_main_process:
            self._post_feedback(per_arm)

    def _post_feedback(self, per_arm: dict[str, list[float]]) -> None:
        """Reward per retriever arm to /feedback, on the client's worker thread (never blocks or stops a step)."""
        client = self.retrieval.client
        arms = {a: v for a, v in per_arm.items() if a != NO_RETRIEVAL_ARM}
        if client is None or not arms:
            return
        feedback = Feedback(run_id=self.run_id[:128], step=self.state.global_step,
                            rewards={a: sum(v) / len(v) for a, v in arms.items()},
                            counts={a: len(v) for a, v in arms.items()})

        def post() -> None:
            try:
                client.feedback(feedback)
            except RetrievalError as exc:
                if not self._feedback_warned:
                    logger.warning("feedback not accepted by the service (further failures not logged): %s", exc)
                    self._feedback_warned = True

        client.background(post)
