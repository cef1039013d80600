"""Resumable stages: each finished stage leaves a marker in DIR/stages/, so a rerun skips it.

A marker records what the stage produced and a fingerprint of what it was asked to do; a rerun skips the
stage only when the fingerprint matches and its outputs still verify (checksums where the stage gives them).
Each stage prints one progress line with its elapsed time and the ETA of the whole run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.artifacts import atomic_write_text
from shared.errors import UserError


def fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class StageRunner:
    """Runs named stages in order, with markers, timings and an ETA from the preset's budgets."""

    def __init__(self, root: Path, planned: list[tuple[str, float]], log: Callable[[str], None] = print):
        self.root = Path(root)
        self.dir = self.root / "stages"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.planned = dict(planned)
        self.order = [name for name, _ in planned]
        self.log = log
        self.t0 = time.monotonic()
        self.timings: dict[str, dict[str, Any]] = {}
        self._spent_budget = 0.0
        self._spent_real = 0.0

    def marker_path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def read_marker(self, name: str) -> dict[str, Any] | None:
        path = self.marker_path(name)
        return json.loads(path.read_text()) if path.is_file() else None

    def _eta(self, after: str) -> float:
        remaining = sum(self.planned[n] for n in self.order[self.order.index(after) + 1:])
        scale = self._spent_real / self._spent_budget if self._spent_budget > 0 else 1.0
        return remaining * min(max(scale, 0.25), 4.0)

    def run(self, name: str, fn: Callable[[], dict[str, Any]], inputs: Any = None,
            verify: Callable[[dict[str, Any]], bool] | None = None, resumable: bool = True) -> dict[str, Any]:
        """Run `fn` (returns the stage's outputs) unless a valid marker says it already ran with the same inputs."""
        fp = fingerprint(inputs)
        index = self.order.index(name) + 1 if name in self.order else 0
        prefix = f"[{index}/{len(self.order)}] {name}"
        marker = self.read_marker(name) if resumable else None
        if marker and marker.get("fingerprint") == fp and (verify is None or verify(marker["outputs"])):
            self.timings[name] = {"elapsed_s": marker["elapsed_s"], "skipped": True}
            self.log(f"{prefix}: reused (finished earlier in {_fmt(marker['elapsed_s'])}); ETA {_fmt(self._eta(name))}")
            return marker["outputs"]
        self.log(f"{prefix}: running ...")
        start = time.monotonic()
        outputs = fn()
        elapsed = time.monotonic() - start
        self._spent_real += elapsed
        self._spent_budget += self.planned.get(name, elapsed)
        self.timings[name] = {"elapsed_s": round(elapsed, 2), "skipped": False}
        atomic_write_text(self.marker_path(name), json.dumps(
            {"stage": name, "fingerprint": fp, "elapsed_s": round(elapsed, 2), "finished_at": time.time(),
             "outputs": outputs}, indent=2, default=str) + "\n")
        self.log(f"{prefix}: done in {_fmt(elapsed)} (run {_fmt(time.monotonic() - self.t0)}; ETA {_fmt(self._eta(name))})")
        return outputs


def rarft_command(args: list[str]) -> list[str]:
    """The `rarft` console script as a subprocess command, through this interpreter (works without PATH)."""
    return [sys.executable, "-m", "shared.cli", *args]


@dataclass(frozen=True)
class Launch:
    """`accelerate launch` in front of a stage's `rarft` command (the experiment's train, label and eval stages).

    With a config file: `--config_file PATH` (and `--num_processes N` when given, overriding the file's). Without
    one: `--multi_gpu --num_processes N`, which starts N processes on one machine: one per GPU, or gloo CPU ranks
    where torch sees no GPU (accelerate's `--cpu` path would start one process only)."""

    config_file: Path | None = None
    num_processes: int | None = None

    def prefix(self) -> list[str]:
        import socket

        cmd = [sys.executable, "-m", "accelerate.commands.launch"]
        if self.config_file is not None:
            cmd += ["--config_file", str(self.config_file)]
        elif (self.num_processes or 1) > 1:
            cmd += ["--multi_gpu"]
        if self.num_processes is not None:
            cmd += ["--num_processes", str(self.num_processes)]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a free rendezvous port per stage
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return cmd + ["--main_process_port", str(port), "-m", "shared.cli"]

    def fingerprint(self) -> dict[str, Any]:
        """What a training run's result depends on: the process count and the config's contents (not its path)."""
        config = Path(self.config_file).read_text() if self.config_file is not None else None
        return {"config": hashlib.sha256(config.encode()).hexdigest()[:16] if config else None,
                "num_processes": self.num_processes}


def run_rarft(args: list[str], log_file: Path, env: dict[str, str] | None = None, timeout: float | None = None,
              launch: Launch | None = None) -> None:
    """Run one `rarft` subcommand to completion (under `accelerate launch` with `launch`), its output in log_file;
    fail with the log's tail on error."""
    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    prefix = launch.prefix() if launch is not None else None
    command = prefix + list(args) if prefix else rarft_command(args)
    shown = f"accelerate launch {' '.join(prefix[3:-2])} -m shared.cli " if prefix else "rarft "
    with open(log_file, "w") as fh:
        fh.write("$ " + shown + " ".join(args) + "\n")
        fh.flush()
        proc = subprocess.Popen(command, stdout=fh, stderr=subprocess.STDOUT, env=full_env,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except BaseException:  # Ctrl-C or timeout: do not leave the child running
            _kill_group(proc)
            raise
    if rc != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-25:])
        raise UserError(f"`rarft {args[0]}` failed with exit code {rc}; log {log_file}:\n{tail}")


def _kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    import signal

    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
