"""How well does a semantic encoder find the *strategy* of a query, versus its *theme*?

Strategy-match@k: share of a query's top-k bank neighbours (cosine) that use the query's strategy; theme-match@k
likewise for the surface theme. On the analogy benchmark the embedded MiniLM should score near chance on the
first and high on the second: that gap is the paper's claim in miniature. Reused by evaluations of retrievers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from shared.contract import Demonstration


def encode(encoder: Any, texts: Sequence[str], batch_size: int = 64, show_progress: bool = True) -> np.ndarray:
    """Unit-normalised float32 embeddings (rows), so a dot product is the cosine."""
    emb = encoder.encode(list(texts), batch_size=batch_size, show_progress_bar=show_progress,
                         convert_to_numpy=True, normalize_embeddings=True)
    return np.asarray(emb, dtype=np.float32)


def top_k(query_emb: np.ndarray, bank_emb: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k most similar bank rows per query, best first."""
    scores = query_emb @ bank_emb.T
    k = min(k, bank_emb.shape[0])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def chance_match(queries: Sequence[Demonstration], bank: Sequence[Demonstration], field: str) -> float:
    """Expected match@k of a retriever that ignores the text: sum over labels of p_query * p_bank."""
    q = Counter(getattr(r, field) for r in queries)
    b = Counter(getattr(r, field) for r in bank)
    return float(sum(q[x] / len(queries) * b[x] / len(bank) for x in q))


def match_at_k(neighbours: np.ndarray, queries: Sequence[Demonstration], bank: Sequence[Demonstration],
               k: int) -> dict[str, float]:
    """Strategy-, theme- and twin-match@k from precomputed neighbour indices."""
    strat = theme = twin_top1 = twins = plain = plain_strat = 0
    by_wording: dict[str, list[int]] = defaultdict(list)
    for qi, row in enumerate(queries):
        hits = [bank[j] for j in neighbours[qi, :k]]
        same = sum(h.strategy == row.strategy for h in hits)
        strat += same
        if "wording" in row.metadata:
            by_wording[str(row.metadata["wording"])].append(same)
        if "twin_of" not in row.metadata and not row.metadata.get("siblings"):
            plain += 1
            plain_strat += same
        theme += sum(h.theme == row.theme for h in hits)
        partner = row.metadata.get("twin_of")
        if partner is not None and partner.startswith("bank-"):
            twins += 1
            twin_top1 += hits[0].id == partner
    n = len(queries) * k
    return {
        f"strategy_match@{k}": strat / n,
        f"theme_match@{k}": theme / n,
        "strategy_chance": chance_match(queries, bank, "strategy"),
        "theme_chance": chance_match(queries, bank, "theme"),
        # queries with no twin or sibling look-alike planted in the bank
        f"strategy_match@{k}/plain_queries": plain_strat / (plain * k) if plain else 0.0,
        "plain_queries": plain,
        "twin_queries": twins,
        "twin_top1": twin_top1 / twins if twins else 0.0,  # share of twin queries whose top hit is their twin
        # per wording of the query (the embedded benchmark's familiar / novel / unseen templates)
        **{f"strategy_match@{k}/{w}": sum(v) / (len(v) * k) for w, v in sorted(by_wording.items())},
        **{f"{w}_queries": len(v) for w, v in sorted(by_wording.items())},
    }


def semantic_match(encoder: Any, queries: Sequence[Demonstration], bank: Sequence[Demonstration], k: int = 4,
                   show_progress: bool = True) -> dict[str, float]:
    """Encode queries and bank with a sentence-transformers encoder and measure match@k by cosine top-k."""
    bank_emb = encode(encoder, [r.problem for r in bank], show_progress=show_progress)
    query_emb = encode(encoder, [r.problem for r in queries], show_progress=show_progress)
    return match_at_k(top_k(query_emb, bank_emb, k), queries, bank, k)
