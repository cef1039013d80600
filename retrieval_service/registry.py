"""The service's side of the version store: versions are loaded through `shared.versions` and served only
after they answered a warm-up query; the errors here are the states only a running service has.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.versions import LoadedVersion, VersionError, VersionNotFound, discover, read_manifest, version_dir
from shared.versions import load_version as _load_checked
from shared.versions.loaded import estimate_bytes

__all__ = [
    "LoadedVersion", "MemoryBudgetExceeded", "NotReady", "VersionConflict", "VersionError", "VersionNotFound",
    "discover", "estimate_bytes", "load_version", "read_manifest", "version_dir",
]


class NotReady(Exception):
    """No version is serving yet (503, retry later)."""


class VersionConflict(VersionError):
    status = 409


class MemoryBudgetExceeded(VersionError):
    status = 409


def load_version(registry: Path, name: str, warmup_query: str, device: str = "auto",
                 index_device: str = "cpu", encoder_backend: str = "torch") -> LoadedVersion:
    """Check and load REGISTRY/NAME, then answer one warm-up query; raises VersionError saying what is wrong."""
    from shared.devices import resolve_device

    version = _load_checked(version_dir(registry, name), device=resolve_device(device), index_device=index_device,
                            encoder_backend=encoder_backend)
    try:
        scores, ids = version.search_batch([warmup_query], k=1)
    except Exception as exc:
        raise VersionError(f"version {name}: warm-up query failed: {exc}") from None
    if ids.shape != (1, 1) or ids[0, 0] < 0 or not np.isfinite(scores).all():
        raise VersionError(f"version {name}: warm-up query returned no valid hit (scores {scores.tolist()})")
    return version
