"""Shared pieces of the reliability tests: a writable copy of the small registry, and a spy on encoding."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import pytest

ADMIN_TOKEN = "reliability-test-token-5c1f0e"


@pytest.fixture
def registry(small_registry, tmp_path) -> Path:
    """A private copy of the session's small registry (holding `v0`), safe to add versions to."""
    dst = tmp_path / "registry"
    shutil.copytree(small_registry, dst)
    return dst


@pytest.fixture
def encode_calls(monkeypatch) -> list[int]:
    """Counts every encoder call of every loaded version (one entry per call, its batch size).

    The security tests use it to show a refused request did no model work at all.
    """
    from shared.versions import LoadedVersion

    calls: list[int] = []
    original = LoadedVersion.encode

    def counting(self, texts, batch_size=None):
        calls.append(len(texts))
        return original(self, texts, batch_size)

    monkeypatch.setattr(LoadedVersion, "encode", counting)
    return calls


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}
