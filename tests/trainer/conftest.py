"""Helpers of the trainer tests: the two-version trainer registry, and `rarft <command>` under `accelerate launch` with several CPU processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.service import build_small_version

ROOT = Path(__file__).resolve().parents[2]
CPU_CONFIG = ROOT / "configs" / "accelerate" / "cpu_multi_process.yaml"


def accelerate_rarft(args: list[str], num_processes: int = 2, timeout: float = 300.0) -> str:
    """Run `accelerate launch --config_file cpu_multi_process.yaml --num_processes N -m shared.cli ARGS` to completion
    (N gloo CPU ranks, one thread each, as the launcher sets them) and return its output; fail with it otherwise."""
    from trainer.experiment.service import free_port

    accelerate = Path(sys.executable).parent / "accelerate"
    cmd = [str(accelerate), "launch", "--config_file", str(CPU_CONFIG), "--num_processes", str(num_processes),
           "--main_process_port", str(free_port()), "-m", "shared.cli", *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"accelerate launch failed ({proc.returncode}):\n{output[-4000:]}"
    return output


@pytest.fixture(scope="session")
def _trainer_versions(tiny_data: Path, minilm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shared.rows import read_rows

    bank = read_rows(Path(tiny_data) / "bank.jsonl")
    registry = tmp_path_factory.mktemp("trainer-versions")
    build_small_version(registry, "v0", rows=bank[:40], encoder=minilm)
    build_small_version(registry, "v1", rows=bank[40:80], encoder=minilm)
    return registry


@pytest.fixture
def trainer_registry(_trainer_versions: Path, tmp_path: Path) -> Path:
    """Registry with v0 and v1: two disjoint slices of the tiny bank, so a prompt shows which version served it.
    A copy per test: the service records admin changes (deployment.json) and feedback in its registry."""
    registry = tmp_path / "trainer-registry"
    shutil.copytree(_trainer_versions, registry)
    return registry
