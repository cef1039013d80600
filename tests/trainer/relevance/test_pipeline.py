"""End to end: label -> distill -> new version -> a real service loads it -> retrieve; plus eval-retriever.

The distilled version must put more same-strategy demonstrations in the top 4 than the semantic parent on the
held-out test queries, served over HTTP by the real service.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

from tests.trainer.relevance.conftest import label_config

pytestmark = pytest.mark.slow


def _strategy_match(client, queries, version: str, k: int = 4) -> float:
    resp = client.retrieve([q.problem for q in queries], k=k, exclude_ids=[[q.id] for q in queries], version=version)
    assert all(h.version == version for hits in resp.results for h in hits)
    return sum(h.demonstration.strategy == q.strategy for q, hits in zip(queries, resp.results) for h in hits) / (k * len(queries))


def test_label_distill_serve_retrieve(tiny_policy, tiny_data, tiny_registry, live_server, tmp_path, capsys):
    from shared.artifacts import sha256_file
    from trainer.client import RetrievalClient
    from shared.rows import read_split
    from trainer.relevance.distill import DistillConfig, run_distill
    from trainer.relevance.retriever_eval import main as eval_main
    from trainer.relevance.labeling import run_label

    registry = tmp_path / "registry"
    shutil.copytree(tiny_registry / "v0-semantic", registry / "v0-semantic")
    labels = tmp_path / "labels.jsonl"
    stats = run_label(label_config(tiny_policy, tiny_data, registry / "v0-semantic", labels, num_queries=0,
                                   num_semantic=4, num_random=12, chunk_queries=40, batch_size=64))
    assert stats["labels/queries"] == 120
    assert "benefit/same_minus_other" in stats

    manifest = run_distill(DistillConfig(labels=labels, data=tiny_data, parent=registry / "v0-semantic",
                                         out=registry / "v1-distilled", epochs=2, max_candidates=8, batch_size=16,
                                         eval_corpus_size=240, progress=False, num_threads=2))
    assert manifest["parent_version"] == "v0-semantic"
    assert manifest["labels_checksum"] == sha256_file(labels)
    metrics = manifest["training_metrics"]
    assert set(metrics["variants"]) == {"kl", "kl_contrastive"} and metrics["selected_variant"] in metrics["variants"]
    assert (registry / "v1-distilled" / "encoder" / "modules.json").is_file()  # a standard sentence-transformers folder
    for variant in ("kl", "kl_contrastive"):  # each variant's TensorBoard run, outside the checksummed files served
        assert list((registry / "v1-distilled" / "logs" / variant).rglob("events.out.tfevents.*")), variant

    url = live_server(registry)
    test = read_split(tiny_data, "test")
    with RetrievalClient(url) as client:
        names = {v.name for v in client.versions().versions}
        assert {"v0-semantic", "v1-distilled"} <= names
        semantic = _strategy_match(client, test, "v0-semantic")
        distilled = _strategy_match(client, test, "v1-distilled")
    print(f"strategy-match@4 over HTTP: semantic {semantic:.3f}, distilled {distilled:.3f}")
    assert distilled > semantic

    out = tmp_path / "eval"
    assert eval_main(["--retriever", str(registry / "v1-distilled"), "--compare", str(registry / "v0-semantic"),
                      "--data", str(tiny_data), "--out", str(out)]) == 0
    table = json.loads((out / "results.json").read_text())["versions"]
    assert table["v1-distilled"]["strategy_match@4"] == pytest.approx(distilled, abs=1e-6)
    assert table["v0-semantic"]["strategy_match@4"] == pytest.approx(semantic, abs=1e-6)
    assert (out / "results.csv").read_text().startswith("version,")
    wordings = Counter(r.metadata["wording"] for r in test)  # per-wording strategy-match adds up to the overall one
    assert "unseen" in wordings
    for name in table:
        per = sum(table[name][f"strategy_match@4/{w}"] * n for w, n in wordings.items()) / len(test)
        assert per == pytest.approx(table[name]["strategy_match@4"], abs=1e-6)
    # diversity is measured in one space (the embedded MiniLM): v0 *is* MiniLM, so its own space gives the same
    # number; the distilled encoder's own space does not
    from trainer.relevance.retriever_eval import evaluate_versions

    own = evaluate_versions([registry / "v1-distilled", registry / "v0-semantic"], tiny_data, diversity_encoder=None)
    assert own["v0-semantic"]["pairwise_distance@4"] == pytest.approx(table["v0-semantic"]["pairwise_distance@4"], abs=1e-4)
    assert own["v1-distilled"]["pairwise_distance@4"] != pytest.approx(table["v1-distilled"]["pairwise_distance@4"], abs=1e-4)
