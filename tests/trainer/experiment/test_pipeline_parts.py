"""Pipeline helpers: stage plan, finding the trained model and its reward curve, the service child's lifecycle."""

import json

import pytest

from shared.errors import UserError
from trainer.experiment.plan import ARMS, planned_stages
from trainer.experiment.presets import get_preset
from trainer.experiment.run_files import find_model_dir, read_train_log
from trainer.experiment.service import ServiceProcess


def test_planned_stages_cover_every_arm_seed_and_condition():
    full = get_preset("full")
    assert full.vary_warm_start  # each seed its own warm start, labels and v1
    names = [n for n, _ in planned_stages(full)]
    assert names[:6] == ["data", "policy-s0", "policy-s1", "policy-s2", "retriever-v0", "service"]
    assert full.distill_rounds == 1 and full.label_args["split"] == "rl"  # one round: the dev choice at its sizes
    assert names[6:9] == ["label-s0", "distill-s0", "deploy-s0"] and "deploy-s2" in names
    assert sum(n.startswith("train-") for n in names) == len(full.seeds) * len(ARMS)
    assert "eval-ra-rft-s2-v1" in names and "eval-ra-rft-s1-v0" in names and "eval-semantic-s1-v0" in names
    assert {"eval-base-s0-none", "eval-base-s2-v1"} <= set(names) and "eval-grpo-s0-v0" not in names
    assert names[-2:] == ["analysis", "report"] and len(names) == len(set(names))
    quick = get_preset("quick")
    names = [n for n, _ in planned_stages(quick)]
    assert quick.distill_rounds == 2  # one shared warm start; v1 from a second round of hard-negative pools
    assert names[:9] == ["data", "policy", "retriever-v0", "service", "label", "distill", "label-r2", "distill-r2", "deploy"]
    assert "eval-base-none" in names and "eval-base-v1" in names
    assert not any(n.startswith("train-semantic") for n in names) and quick.arms == ["grpo", "ra-rft"]


def test_model_dir_and_reward_curve_from_checkpoint(tmp_path):
    with pytest.raises(UserError):
        find_model_dir(tmp_path)
    ckpt = tmp_path / "checkpoint-4"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    assert find_model_dir(tmp_path) == ckpt
    (tmp_path / "config.json").write_text("{}")
    assert find_model_dir(tmp_path) == tmp_path
    history = [{"step": 1, "reward": 0.25, "retrieval/with_demos": 1.0}, {"step": 2, "reward": 0.75, "loss": 0.1},
               {"step": 2, "train_runtime": 9.0}]
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": 2, "log_history": history}))
    log = read_train_log(tmp_path)
    assert log["reward_curve"] == [{"step": 1, "reward": 0.25}, {"step": 2, "reward": 0.75}]
    assert log["final_reward"] == 0.75 and log["mean_reward"] == 0.5 and log["global_step"] == 2
    assert log["step_seconds"] == 4.5  # train_runtime over the optimizer steps
    assert log["retrieval"]["retrieval/with_demos"] == 1.0 and log["retrieval"]["retrieval/latency_ms"] is None


def test_service_child_that_dies_is_reported_with_its_log(tmp_path, monkeypatch):
    # A registry that does not exist: `rarft serve` exits; the pipeline must say so instead of waiting forever.
    svc = ServiceProcess(tmp_path / "missing-registry", tmp_path / "service.log", ready_timeout=120)
    with pytest.raises(UserError, match="exited with code"):
        with svc:
            pass
    assert svc.proc is None
    assert (tmp_path / "service.log").read_text().strip()  # the child's own error is kept for the user
