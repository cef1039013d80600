"""`rarft label` killed with SIGKILL mid-run resumes from its last shard: nothing lost, nothing counted twice.

A real subprocess on the tiny policy; the kill lands as soon as the first shard is on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NUM_QUERIES, NUM_RANDOM, CHUNK = 16, 5, 2


def _label_cmd(policy: Path, data: Path, out: Path) -> list[str]:
    rarft = Path(sys.executable).with_name("rarft")
    return [str(rarft), "label", "--policy", str(policy), "--data", str(data), "--out", str(out),
            "--num-queries", str(NUM_QUERIES), "--num-semantic", "0", "--num-random", str(NUM_RANDOM),
            "--chunk-queries", str(CHUNK), "--batch-size", "8", "--num-threads", "1", "--no-progress"]


def test_label_sigkill_resumes_without_loss_or_double_counting(tiny_policy, tiny_data, tmp_path):
    out = tmp_path / "labels.jsonl"
    parts = out.with_name(out.name + ".parts")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

    first = subprocess.Popen(_label_cmd(tiny_policy, tiny_data, out), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None and not list(parts.glob("part-*.jsonl")):
        time.sleep(0.02)
    assert first.poll() is None, f"label finished or died before the kill:\n{first.stdout.read()[-2000:]}"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert not out.exists(), "a killed run must not leave a final label file"
    survived = {p.name: p.read_text() for p in parts.glob("part-*.jsonl")}
    assert survived, "no shard survived the kill"
    done_before = {json.loads(line)["query_id"] for text in survived.values() for line in text.splitlines() if line.strip()}
    assert 0 < len(done_before) < NUM_QUERIES

    second = subprocess.run(_label_cmd(tiny_policy, tiny_data, out), env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"resuming: {len(done_before)} of {NUM_QUERIES}" in second.stdout

    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    pairs = Counter((r["query_id"], r["candidate_id"]) for r in rows)
    assert max(pairs.values()) == 1, f"double-counted pairs: {[p for p, n in pairs.items() if n > 1][:5]}"
    per_query = Counter(r["query_id"] for r in rows)
    assert len(per_query) == NUM_QUERIES and set(per_query.values()) == {NUM_RANDOM}, per_query
    # The rows computed before the kill are the ones in the final file, unchanged (nothing recomputed).
    before = {(r["query_id"], r["candidate_id"]): r["benefit"]
              for text in survived.values() for r in map(json.loads, filter(str.strip, text.splitlines()))}
    final = {(r["query_id"], r["candidate_id"]): r["benefit"] for r in rows}
    assert {key: final[key] for key in before} == pytest.approx(before, rel=1e-6, abs=1e-9)
    print(f"\nlabel SIGKILL: killed after {len(done_before)}/{NUM_QUERIES} queries; resumed; "
          f"{len(rows)} rows, 0 lost, 0 duplicated")
