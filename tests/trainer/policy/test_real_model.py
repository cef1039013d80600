"""A real pretrained policy through every stage: SmolLM2-135M-Instruct from its wheel, offline.

convert (GGUF -> plain HF folder, checksummed) -> label a few queries -> 2 GRPO steps against a real service on
127.0.0.1 -> eval a few problems with and without retrieval. Sizes are the smallest that still exercise each
stage; the model is real, so each step costs seconds on 2 CPU cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.artifacts import verify_checksums
from shared.cli import main as rarft

pytestmark = pytest.mark.slow
NAME = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory):
    """The converted folder in a fresh cache (so the conversion itself runs in every CI build)."""
    from trainer.policy.loading import resolve_policy

    patch = pytest.MonkeyPatch()
    patch.setenv("RARFT_CACHE", str(tmp_path_factory.mktemp("rarft-cache")))
    yield Path(resolve_policy(NAME))
    patch.undo()


def test_conversion_is_a_plain_checksummed_model_reused_while_it_matches(smollm2):
    from trainer.policy.embedded import MANIFEST
    from trainer.policy.loading import resolve_policy

    manifest = json.loads((smollm2 / MANIFEST).read_text())
    assert manifest["name"] == NAME and "model.safetensors" in manifest["files"]
    assert verify_checksums(smollm2, manifest["files"]) == []
    config = json.loads((smollm2 / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in config
    weights = smollm2 / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert Path(resolve_policy(NAME)) == smollm2 and weights.stat().st_mtime_ns == stamp  # not converted again


def test_resolution_trusts_unchanged_stats_and_hashes_otherwise(smollm2, monkeypatch):
    """A folder whose files keep their recorded size and mtime is reused without reading ~600 MB; a touched file
    sends the check back to the checksums (which still match here, so nothing is converted)."""
    import os

    import trainer.policy.embedded as embedded
    from trainer.policy.loading import resolve_policy

    hashed: list[str] = []
    real_sha, real_verify = embedded.sha256_file, embedded.verify_checksums
    monkeypatch.setattr(embedded, "sha256_file", lambda p, *a: hashed.append(str(p)) or real_sha(p, *a))
    monkeypatch.setattr(embedded, "verify_checksums", lambda root, files: hashed.append(str(root)) or real_verify(root, files))
    assert Path(resolve_policy(NAME)) == smollm2 and hashed == []
    weights = smollm2 / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert Path(resolve_policy(NAME)) == smollm2 and hashed  # hashed, found intact, not converted
    hashed.clear()
    assert Path(resolve_policy(NAME)) == smollm2 and hashed == []  # the new stats were recorded


def test_label_train_eval_on_smollm2(smollm2, tiny_data, trainer_registry, live_server, tmp_path, monkeypatch):
    import trainer.grpo.rewards as rewards
    from tests.trainer.grpo.conftest import make_trainer
    from trainer.policy.loading import load_policy

    # label: the embedded name works as --policy; benefits are finite teacher-forced differences.
    labels = tmp_path / "labels.jsonl"
    assert rarft(["label", "--policy", NAME, "--data", str(tiny_data), "--out", str(labels), "--num-queries", "2",
                  "--num-semantic", "0", "--num-random", "3", "--batch-size", "8", "--no-progress"]) == 0
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(rows) == 2 * 3 and len({r["query_id"] for r in rows}) == 2
    assert all(r["benefit"] == r["benefit"] and abs(r["benefit"]) < 50 for r in rows)

    # train: 2 GRPO steps with demonstrations retrieved over HTTP, rewards from the verifier.
    calls: list[str] = []
    real = rewards.is_correct

    def spy(completion: str, gold: str) -> bool:
        calls.append(gold)
        return real(completion, gold)

    monkeypatch.setattr(rewards, "is_correct", spy)
    url = live_server(trainer_registry, load_at_startup=["v0"])
    out = tmp_path / "run"
    trainer = make_trainer(smollm2, tiny_data / "rl.jsonl", out, retrieval_url=url, max_steps=2,
                           max_completion_length=16, save_steps=2)
    trainer.train()
    answers = {json.loads(line)["id"]: json.loads(line)["answer"]
               for line in (tiny_data / "rl.jsonl").read_text().splitlines()}
    for h in trainer.retrieval_history:
        assert h["version"] == "v0" and not h["degraded"]
        for prompt in h["prompts"]:
            # the model's own ChatML template around the project's user turn, with a retrieved demonstration
            assert prompt.startswith("<|im_start|>system") and "Example 1:" in prompt
    assert len(calls) == 2 * 4 and set(calls) <= {answers[p] for h in trainer.retrieval_history
                                                  for p in h["problem_ids"]}
    checkpoint = out / "checkpoint-2"
    model, _ = load_policy(str(checkpoint))
    assert type(model).__name__ == "LlamaForCausalLM"

    # eval: the trained checkpoint, without and with retrieval.
    for name, extra in (("plain", []), ("rag", ["--retrieval-url", url, "--retriever-version", "v0"])):
        assert rarft(["eval", "--model", str(checkpoint), "--data", str(tiny_data / "dev.jsonl"), "--limit", "2",
                      "--k", "2", "--max-new-tokens", "12", "--out", str(tmp_path / name), *extra]) == 0
    plain, rag = (json.loads((tmp_path / n / "results.json").read_text()) for n in ("plain", "rag"))
    assert plain["num_problems"] == rag["num_problems"] == 2 and set(rag["retrieval"]["versions_served"]) == {"v0"}
    samples = [json.loads(line) for line in (tmp_path / "rag" / "samples.jsonl").read_text().splitlines()]
    assert all(s["demo_ids"] and len(s["completions"]) == 2 for s in samples)
