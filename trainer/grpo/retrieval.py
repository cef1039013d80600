"""Rollout-time retrieval: turn a generation batch's rows into prompts with retrieved demonstrations.

`RolloutRetriever` owns the policy of one rollout batch: one HTTP request for the batch's unique problems (each
excluding its own id), optional prefetch of the next batch on the client's worker thread, the fault policy
(`fail` raises `RetrievalFailed`; `degrade` renders the batch without demonstrations and counts it), and the
per-batch record (`BatchRetrieval`) the trainer logs.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from shared.contract import Demonstration, RetrieveResponse
from shared.limits import MAX_QUERIES_PER_REQUEST
from trainer.client import RetrievalClient, RetrievalError
from trainer.prompting import fit_demonstrations, render_prompt

logger = logging.getLogger(__name__)

NO_RETRIEVAL_ARM = "none"  # arm of rollouts that got no demonstrations (plain GRPO or a degraded batch)


class RetrievalFailed(RuntimeError):
    """Retrieval failed after all retries under degrade_policy='fail'; training stops with a checkpoint."""


@dataclass
class BatchRetrieval:
    """What retrieval did for one generation batch (one process)."""

    prompts: list[str]
    arms: list[str]  # per rollout: the retriever version whose demonstrations it saw, or "none"
    num_demos: list[int]  # per rollout: demonstrations kept after the token budget
    version: str | None = None
    latency_ms: float = 0.0  # round trip of the HTTP call (in the worker thread when prefetched)
    wait_ms: float = 0.0  # how long the trainer actually blocked on retrieval for this batch
    prefetched: bool = False
    degraded: bool = False
    error: str | None = None
    demo_ids: dict[str, list[str]] = field(default_factory=dict)  # problem id -> kept demonstration ids


def batch_key(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """The batch's unique problem ids in order: names a prefetch and is the request's query list."""
    return tuple(dict.fromkeys(str(r["id"]) for r in rows))


class RolloutRetriever:
    def __init__(self, client: RetrievalClient | None, tokenizer: Any, *, k: int, budget_tokens: int,
                 version: str | None = None, routing_key: str | None = None, degrade_policy: str = "fail",
                 prefetch: bool = True, template_kwargs: dict[str, Any] | None = None) -> None:
        self.client = client
        self.tokenizer = tokenizer
        self.template_kwargs = dict(template_kwargs or {})
        self.k = k
        self.budget_tokens = budget_tokens
        self.version = version
        self.routing_key = routing_key
        self.degrade_policy = degrade_policy
        self.prefetch_enabled = prefetch and client is not None
        self._pending: dict[tuple[str, ...], tuple[Future[tuple[RetrieveResponse, float]], float]] = {}

    @property
    def enabled(self) -> bool:
        return self.client is not None

    # ------------------------------------------------------------------------------------------ requests

    def _call(self, problems: list[str], ids: list[str]) -> tuple[RetrieveResponse, float]:
        assert self.client is not None
        if len(problems) > MAX_QUERIES_PER_REQUEST:
            raise RetrievalError(f"{len(problems)} unique problems in one batch; the service takes at most "
                                 f"{MAX_QUERIES_PER_REQUEST}: lower generation_batch_size")
        start = time.perf_counter()
        response = self.client.retrieve(problems, self.k, exclude_ids=[[i] for i in ids], version=self.version,
                                        routing_key=self.routing_key)
        return response, (time.perf_counter() - start) * 1000

    @staticmethod
    def _unique(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        by_id: dict[str, str] = {}
        for r in rows:
            by_id.setdefault(str(r["id"]), str(r["problem"]))
        return list(by_id), list(by_id.values())

    def prefetch(self, rows: list[dict[str, Any]]) -> None:
        """Start the retrieval of a batch that will be generated next (no-op when already started)."""
        if not self.prefetch_enabled or not rows:
            return
        key = batch_key(rows)
        if key in self._pending:
            return
        while len(self._pending) >= 2:  # a lookahead that was never used (end of epoch): drop the oldest
            self._pending.pop(next(iter(self._pending)))[0].cancel()
        ids, problems = self._unique(rows)
        assert self.client is not None
        future = self.client.background(self._call, problems, ids)
        self._pending[key] = (future, time.perf_counter())

    def _fetch(self, rows: list[dict[str, Any]]) -> tuple[RetrieveResponse, float, float, bool]:
        """(response, call latency ms, trainer wait ms, prefetched) for this batch; raises on failure."""
        key = batch_key(rows)
        pending = self._pending.pop(key, None)
        start = time.perf_counter()
        if pending is not None:
            assert self.client is not None
            # The worker's call is bounded by its own timeouts and retries; this bound only guards a stuck thread.
            bound = self.client.timeout_s * (self.client.retries + 1) + 5 * (self.client.retries + 1) + 5
            response, latency = pending[0].result(timeout=bound)
            return response, latency, (time.perf_counter() - start) * 1000, True
        ids, problems = self._unique(rows)
        response, latency = self._call(problems, ids)
        return response, latency, (time.perf_counter() - start) * 1000, False

    # ------------------------------------------------------------------------------------------ prompts

    def _render(self, problem: str, demos: list[Demonstration]) -> tuple[str, list[Demonstration]]:
        kept = fit_demonstrations(self.tokenizer, demos, self.budget_tokens) if demos else []
        return render_prompt(self.tokenizer, problem, kept, template_kwargs=self.template_kwargs), kept

    def augment(self, rows: list[dict[str, Any]]) -> BatchRetrieval:
        """Prompts for a generation batch (rows repeated num_generations times), in row order."""
        if not self.enabled:
            return self.augment_without(rows)
        try:
            response, latency, wait, prefetched = self._fetch(rows)
        except Exception as exc:  # RetrievalError, a timed-out future, a contract violation
            message = f"{type(exc).__name__}: {exc}"
            if self.degrade_policy == "fail":
                raise RetrievalFailed(message) from exc
            logger.warning("retrieval failed, training this batch without demonstrations: %s", message)
            batch = self.augment_without(rows)
            batch.degraded, batch.error = True, message
            return batch
        ids, _ = self._unique(rows)
        hits_by_id = {pid: [h.demonstration for h in hits if h.demonstration.id != pid]  # belt and braces
                      for pid, hits in zip(ids, response.results, strict=True)}
        rendered: dict[str, tuple[str, list[Demonstration]]] = {}
        for r in rows:
            pid = str(r["id"])
            if pid not in rendered:
                rendered[pid] = self._render(str(r["problem"]), hits_by_id[pid])
        prompts = [rendered[str(r["id"])][0] for r in rows]
        num_demos = [len(rendered[str(r["id"])][1]) for r in rows]
        arms = [response.version if n else NO_RETRIEVAL_ARM for n in num_demos]
        return BatchRetrieval(
            prompts, arms, num_demos, version=response.version, latency_ms=latency, wait_ms=wait,
            prefetched=prefetched, demo_ids={pid: [d.id for d in kept] for pid, (_, kept) in rendered.items()},
        )

    def augment_without(self, rows: list[dict[str, Any]]) -> BatchRetrieval:
        prompts = [render_prompt(self.tokenizer, str(r["problem"]), template_kwargs=self.template_kwargs) for r in rows]
        return BatchRetrieval(prompts, [NO_RETRIEVAL_ARM] * len(rows), [0] * len(rows))

    def close(self) -> None:
        for future, _ in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self.client is not None:
            self.client.close()
