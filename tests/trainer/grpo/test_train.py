"""RA-RFT end to end: the tiny policy trained a few GRPO steps against the real service on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from transformers import TrainerCallback

from tests.trainer.grpo.conftest import bank_ids, make_trainer

pytestmark = pytest.mark.slow
TOKEN = "test-admin-token"


class AtStep(TrainerCallback):
    """Run `action()` once, at the end of optimizer step `step`."""

    def __init__(self, step: int, action) -> None:
        self.step, self.action, self.done = step, action, False

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step and not self.done:
            self.done = True
            self.action()


def test_training_uses_retrieved_demonstrations_verifier_rewards_and_saves_loadable_checkpoints(
        tiny_policy, tiny_data, trainer_registry, live_server, tmp_path, monkeypatch):
    import trainer.grpo.rewards as rewards
    from transformers import AutoModelForCausalLM

    url = live_server(trainer_registry, load_at_startup=["v0"])
    calls: list[tuple[str, str, bool]] = []
    real_is_correct = rewards.is_correct

    def spy(completion: str, gold: str) -> bool:
        calls.append((completion, gold, result := real_is_correct(completion, gold)))
        return result

    monkeypatch.setattr(rewards, "is_correct", spy)
    out = tmp_path / "run"
    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", out, retrieval_url=url, max_steps=3)
    trainer.train()

    history = trainer.retrieval_history
    assert [h["step"] for h in history] == [0, 1, 2]
    assert any(h["prefetched"] for h in history)  # the next batch's retrieval overlapped generation
    bank = {r["id"]: r["problem"] for r in _rows(trainer_registry / "v0" / "bank.jsonl")}
    for h in history:
        assert h["version"] == "v0" and not h["degraded"]
        for pid, demo_ids in h["demo_ids"].items():
            assert demo_ids and pid not in demo_ids and set(demo_ids) <= set(bank)
        for prompt in h["prompts"]:
            assert "Example 1:" in prompt
        for pid, demo_ids in h["demo_ids"].items():
            assert any(bank[demo_ids[0]].strip() in p for p in h["prompts"])
    # TRL generated from (and logged) the rewritten prompts, not the dataset's plain ones.
    assert all("Example 1:" in p for p in trainer._logs["prompt"])

    # Rewards came from math-verify on each rollout against the gold answer of its problem.
    answers = {r["id"]: r["answer"] for r in _rows(tiny_data / "train.jsonl")}
    gold_of_step = [[answers[pid] for pid in h["problem_ids"]] for h in history]
    assert len(calls) == 3 * 4
    for step, golds in enumerate(gold_of_step):
        assert {g for _, g, _ in calls[4 * step: 4 * step + 4]} == set(golds)
    logs = [e for e in trainer.state.log_history if "rewards/accuracy/mean" in e]
    assert len(logs) == 3
    for step, entry in enumerate(logs):
        expected = sum(r for _, _, r in calls[4 * step: 4 * step + 4]) / 4
        assert entry["rewards/accuracy/mean"] == pytest.approx(expected)
        assert entry["retrieval/with_demos"] == 1.0 and entry["retrieval/latency_ms"] > 0
        assert entry["retrieval/arm/v0/reward"] == pytest.approx(expected)

    # The service received the reward per arm after each step.
    feedback = httpx.get(f"{url}/versions", timeout=5).json()["feedback"]
    assert "v0" in feedback

    checkpoint = out / "checkpoint-2"
    assert (checkpoint / "trainer_state.json").is_file()
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    assert model.num_parameters() > 0
    assert (out / "retrieval_log.jsonl").read_text().count("\n") == 3


def test_retriever_swapped_mid_training_serves_the_next_batch(tiny_policy, tiny_data, trainer_registry, live_server,
                                                              tmp_path):
    url = live_server(trainer_registry, admin_token=TOKEN, load_at_startup=["v0", "v1"])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpx.post(f"{url}/admin/promote", json={"name": "v0"}, headers=auth, timeout=10).raise_for_status()

    def swap() -> None:
        httpx.post(f"{url}/admin/promote", json={"name": "v1"}, headers=auth, timeout=10).raise_for_status()

    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", tmp_path / "run", retrieval_url=url,
                           max_steps=4, retrieval_prefetch=False, save_strategy="no", callbacks=[AtStep(2, swap)])
    trainer.train()
    versions = [h["version"] for h in trainer.retrieval_history]
    assert versions == ["v0", "v0", "v1", "v1"]
    v1_ids = bank_ids(trainer_registry, "v1")
    for h in trainer.retrieval_history[2:]:
        assert all(set(ids) <= v1_ids for ids in h["demo_ids"].values())
    logged = [e for e in trainer.state.log_history if "retrieval/arm/v1/reward" in e]
    assert len(logged) == 2


def test_a_generation_batch_spanning_steps_is_retrieved_once_and_prefetched(
        tiny_policy, tiny_data, trainer_registry, live_server, tmp_path, monkeypatch):
    """steps_per_generation=4: TRL yields each generation batch four times and generates from the first; the repeats
    are not fetched again (the lookahead of step 1 is the same batch), and the next batch is still prefetched."""
    from trainer.client import RetrievalClient

    url = live_server(trainer_registry, load_at_startup=["v0"])
    queries: list[tuple[str, ...]] = []
    real_retrieve = RetrievalClient.retrieve

    def counting(self, queries_, *args, **kwargs):
        queries.append(tuple(queries_))
        return real_retrieve(self, queries_, *args, **kwargs)

    monkeypatch.setattr(RetrievalClient, "retrieve", counting)
    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", tmp_path / "run", retrieval_url=url,
                           max_steps=8, steps_per_generation=4, save_strategy="no", feedback=False)
    trainer.train()
    history = trainer.retrieval_history
    assert len(history) == 2  # one generation (and one retrieval) per four optimizer steps
    assert all(len(h["problem_ids"]) == 4 * 2 for h in history)  # 4 steps x 2 problems (of 2 completions each)
    assert [h["prefetched"] for h in history] == [False, True]  # the first batch has nothing to overlap with
    assert len(queries) == len(set(queries)) <= 3  # each batch fetched once (the last lookahead may start too)


def test_service_killed_mid_run_degrades_and_counts(tiny_policy, tiny_data, trainer_registry, live_server, tmp_path):
    url = live_server(trainer_registry, load_at_startup=["v0"])
    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", tmp_path / "run", retrieval_url=url,
                           max_steps=4, degrade_policy="degrade", save_strategy="no", retrieval_timeout_s=0.5,
                           callbacks=[AtStep(1, lambda: live_server.servers[url].stop())])
    trainer.train()  # does not raise, does not hang
    history = trainer.retrieval_history
    assert not history[0]["degraded"]
    assert history[-1]["degraded"] and "RetrievalUnavailable" in history[-1]["error"]
    assert all("Example 1:" not in p for p in history[-1]["prompts"])  # trained without demonstrations
    totals = [e["retrieval/degraded_total"] for e in trainer.state.log_history if "retrieval/degraded_total" in e]
    assert totals[0] == 0 and totals[-1] == trainer.degraded_total >= 2 and totals == sorted(totals)


def test_fail_policy_stops_with_checkpoint_and_resume_continues(tiny_policy, tiny_data, trainer_registry,
                                                                  live_server, tmp_path):
    from trainer.grpo.retrieval import RetrievalFailed

    out = tmp_path / "run"
    url = live_server(trainer_registry, load_at_startup=["v0"])
    trainer = make_trainer(tiny_policy, tiny_data / "train.jsonl", out, retrieval_url=url, max_steps=6,
                           save_strategy="no", callbacks=[AtStep(2, lambda: live_server.servers[url].stop())])
    with pytest.raises(RetrievalFailed, match="--resume-from-checkpoint"):
        trainer.train()
    stopped_at = trainer.state.global_step
    checkpoint = out / f"checkpoint-{stopped_at}"
    assert stopped_at >= 2 and (checkpoint / "model.safetensors").is_file()
    assert (checkpoint / "optimizer.pt").is_file() and (checkpoint / "trainer_state.json").is_file()

    url2 = live_server(trainer_registry, load_at_startup=["v0"])  # the service is back (new port)
    resumed = make_trainer(tiny_policy, tiny_data / "train.jsonl", out, retrieval_url=url2,
                           max_steps=stopped_at + 2, save_strategy="no")
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.state.global_step == stopped_at + 2
    assert [h["step"] for h in resumed.retrieval_history] == [stopped_at, stopped_at + 1]
    assert all(h["version"] == "v0" for h in resumed.retrieval_history)


def _rows(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
