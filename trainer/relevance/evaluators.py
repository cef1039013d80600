"""Validation evaluator for distillation: strategy-match@k over the bank and nDCG@k against gold benefit.

A sentence-transformers evaluator (it declares its primary metric), so the trainer logs it every epoch and
the distill command picks the better of its loss variants with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from shared.contract import Demonstration
from shared.documents import DocumentText, as_document
from trainer.relevance import metrics as M


class RelevanceEvaluator(SentenceEvaluator):
    """Held-out queries: strategy-match@k against `corpus` and nDCG@k / top-k benefit inside their pools.

    Args:
        queries: held-out query rows.
        corpus: bank rows to retrieve from (a seeded subset keeps each evaluation cheap).
        pools: per query id, (candidate documents, gold benefits) from the labels.
        k: cut-off of every @k metric.
        document_text: what the corpus rows are embedded as (shared.documents), as the version will index them.
    """

    def __init__(self, queries: Sequence[Demonstration], corpus: Sequence[Demonstration],
                 pools: dict[str, tuple[list[str], list[float]]], k: int = 4, name: str = "val",
                 batch_size: int = 64, document_text: DocumentText = "problem") -> None:
        super().__init__()
        self.queries, self.corpus, self.pools = list(queries), list(corpus), pools
        self.k, self.name, self.batch_size = k, name, batch_size
        self.document_text = document_text
        self.has_strategy = all(q.strategy for q in self.queries) and all(d.strategy for d in self.corpus)
        self.primary_metric = f"strategy_match@{k}" if self.has_strategy else f"ndcg@{k}"

    def _encode(self, model: Any, texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                       normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)

    def compute(self, model: Any) -> dict[str, float]:
        k = self.k
        q_emb = self._encode(model, [q.problem for q in self.queries])
        out: dict[str, float] = {}
        if self.has_strategy:
            c_emb = self._encode(model, [as_document(d, self.document_text) for d in self.corpus])
            top = np.argsort(-(q_emb @ c_emb.T), axis=1)[:, :k]
            out[f"strategy_match@{k}"] = M.mean([
                M.strategy_match_at_k(q.strategy, [self.corpus[j].strategy for j in row], k)
                for q, row in zip(self.queries, top)])
            out[f"distinct_strategies@{k}"] = M.mean([float(M.distinct([self.corpus[j].strategy for j in row])) for row in top])
        ndcgs, top_benefit, best_benefit = [], [], []
        for qi, q in enumerate(self.queries):
            if q.id not in self.pools:
                continue
            texts, benefits = self.pools[q.id]
            sims = self._encode(model, texts) @ q_emb[qi]
            ndcgs.append(M.ndcg_at_k(sims, benefits, k))
            order = np.argsort(-sims)[:k]
            top_benefit.append(float(np.mean(np.asarray(benefits)[order])))
            best_benefit.append(float(np.mean(np.sort(benefits)[::-1][:k])))
        if ndcgs:
            out[f"ndcg@{k}"] = M.mean(ndcgs)
            out[f"pool_top{k}_benefit"] = M.mean(top_benefit)
            out[f"pool_oracle_top{k}_benefit"] = M.mean(best_benefit)
        return out

    def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        metrics = self.compute(model)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics
