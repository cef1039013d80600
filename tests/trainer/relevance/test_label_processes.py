"""`rarft label` under `accelerate launch` with two CPU processes writes the labels one process writes."""

from __future__ import annotations

import json


def _rows(path):
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: (r["query_id"], r["candidate_id"]))


def test_two_processes_label_what_one_labels(tiny_policy, tiny_data, tiny_registry, tmp_path):
    import torch

    from tests.trainer.conftest import accelerate_rarft
    from tests.trainer.relevance.conftest import label_config
    from trainer.relevance.labeling import run_label

    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    retriever = tiny_registry / "v0-semantic"
    before = torch.get_num_threads()
    try:  # one thread, as the launcher gives each rank: the same CPU kernels in both runs
        stats = run_label(label_config(tiny_policy, tiny_data, retriever, one, num_threads=1))
    finally:
        torch.set_num_threads(before)
    output = accelerate_rarft(["label", "--policy", str(tiny_policy), "--data", str(tiny_data), "--retriever",
                               str(retriever), "--out", str(two), "--num-queries", "6", "--num-semantic", "2",
                               "--num-random", "4", "--batch-size", "16", "--chunk-queries", "2", "--num-threads", "1",
                               "--no-progress", "--device", "cpu"])
    # 3 chunks of 2 queries: process 1 labels chunks 0 and 2, process 2 chunk 1
    assert "process 1/2: labelled 4 queries" in output and "process 2/2: labelled 2 queries" in output
    assert not two.with_name(two.name + ".parts").exists()
    rows = _rows(two)
    assert len(rows) == 6 * 6 and rows == _rows(one)
    assert len({r["query_id"] for r in rows}) == stats["labels/queries"] == 6
    # row for row, not only as a set: the shards are numbered by chunk whichever process wrote them
    assert two.read_text() == one.read_text()


def test_shard_numbers_follow_the_chunks_whichever_process_writes(tmp_path):
    from trainer.relevance.labels import ShardWriter, parts_dir, read_shards

    out = tmp_path / "labels.jsonl"
    first, second = (ShardWriter(out, {"seed": 0}, offset=i, stride=2) for i in range(2))  # made before any write
    second.write([{"query_id": "chunk1"}])
    first.write([{"query_id": "chunk0"}])
    first.write([{"query_id": "chunk2"}])
    assert sorted(p.name for p in parts_dir(out).glob("part-*")) == ["part-00001.jsonl", "part-00002.jsonl",
                                                                      "part-00003.jsonl"]
    assert [r["query_id"] for r in read_shards(parts_dir(out))] == ["chunk0", "chunk1", "chunk2"]
    resumed = ShardWriter(out, {"seed": 0}, offset=1, stride=2)  # a rerun numbers after what is on disk
    resumed.write([{"query_id": "chunk3"}])
    assert (parts_dir(out) / "part-00005.jsonl").is_file()
    assert ShardWriter(out, {"seed": 0}).done_queries() == {"chunk0", "chunk1", "chunk2", "chunk3"}
