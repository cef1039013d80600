"""The desired deployment in the registry (`deployment.json`) and the changes the admin routes make to it.

Replicas share nothing but the registry directory. Every change (load, split, promote, rollback, unload) is
read-modify-written under an exclusive `flock` on `REGISTRY/.deployment.lock` and lands by atomic rename with
the generation raised by one; each replica polls the file and converges on it (`ServiceState.sync`). The
changes are pure functions of the current deployment and the versions' age, so a replica and `rarft deploy
--registry` (no service running) compute the same result.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from shared.artifacts import atomic_write_text
from shared.manifests import DeploymentManifest, utc_now
from shared.versions import VersionError, VersionNotFound, read_manifest, version_dir

from retrieval_service.registry import VersionConflict

DEPLOYMENT_FILE = "deployment.json"
LOCK_FILE = ".deployment.lock"


class RegistryNotWritable(VersionConflict):
    """The deployment cannot be recorded (read-only registry): a change must reach every replica or none."""


def deployment_path(registry: Path) -> Path:
    return Path(registry) / DEPLOYMENT_FILE


def read_deployment(registry: Path) -> DeploymentManifest | None:
    """The registry's desired deployment, None when no change was ever recorded; a malformed file is an error."""
    path = deployment_path(registry)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VersionError(f"cannot read {path}: {exc}") from None
    try:
        return DeploymentManifest.model_validate_json(text)
    except ValidationError as exc:
        raise VersionError(f"{path} is malformed ({exc.error_count()} error(s): {exc.errors()[0]['msg']}); "
                           "fix or delete it, then redeploy") from None


@contextlib.contextmanager
def locked(registry: Path) -> Iterator[None]:
    """Exclusive lock on the deployment across processes and hosts sharing the directory (released on exit or crash)."""
    path = Path(registry) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RegistryNotWritable(f"cannot record the deployment in {registry}: {exc.strerror}; the registry must be "
                                  "writable by the service (mount it read-write)") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def write_deployment(registry: Path, deployment: DeploymentManifest) -> None:
    try:
        atomic_write_text(deployment_path(registry), deployment.model_dump_json(indent=2) + "\n")
    except OSError as exc:
        raise RegistryNotWritable(f"cannot record the deployment in {registry}: {exc.strerror}") from None


def origin() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------------------------------------- the changes


def newest_first(registry: Path, names: list[str]) -> list[str]:
    """Deployed versions, newest (manifest created_at, then name) first: the same order on every replica."""
    created = {}
    for name in names:
        try:
            created[name] = read_manifest(version_dir(registry, name)).created_at
        except VersionError:
            created[name] = ""  # unreadable: oldest, so it never wins the newest-takes-all rule by accident
    return sorted(names, key=lambda n: (created[n], n), reverse=True)


def effective_split(deployment: DeploymentManifest, order: list[str]) -> dict[str, float]:
    """The weights in force: the explicit split, or all traffic to the newest deployed version."""
    if deployment.split is not None:
        return dict(deployment.split)
    return {order[0]: 1.0} if order else {}


def normalise(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: w / total for k, w in sorted(weights.items())}


def _next(current: DeploymentManifest, change: str, **fields) -> DeploymentManifest:
    return current.model_copy(update={"generation": current.generation + 1, "updated_at": utc_now(),
                                      "updated_by": f"{change} on {origin()}", **fields})


def with_load(current: DeploymentManifest, name: str, weight: float | None, order_before: list[str]) -> DeploymentManifest:
    """Deploy `name`; with `weight`, it takes that share and the other arms keep their ratios in the rest."""
    if name in current.versions:
        raise VersionConflict(f"version {name} is already deployed; unload it first to reload it")
    if weight is not None and not 0 <= weight <= 1:
        raise VersionError(f"weight {weight} is the new version's share of traffic: give a number from 0 to 1")
    split, previous = current.split, current.previous_split
    if weight is not None:
        before = effective_split(current, order_before)
        weights = {**{n: w * (1 - weight) for n, w in before.items()}, name: weight}
        split = normalise(weights if sum(weights.values()) > 0 else {name: 1.0})
        previous = before if split != before else previous
    return _next(current, f"load {name}", versions=[*current.versions, name], split=split, previous_split=previous)


def with_split(current: DeploymentManifest, weights: dict[str, float], order: list[str]) -> DeploymentManifest:
    unknown = sorted(set(weights) - set(current.versions))
    if unknown:
        raise VersionNotFound(f"not loaded: {', '.join(unknown)}; load them first "
                              f"(loaded: {', '.join(current.versions) or 'none'})")
    if sum(weights.values()) <= 0:
        raise VersionError("at least one weight must be > 0")
    new, before = normalise(weights), effective_split(current, order)
    previous = before if new != before else current.previous_split
    return _next(current, "split", split=new, previous_split=previous)


def with_rollback(current: DeploymentManifest, order: list[str]) -> DeploymentManifest:
    if current.previous_split is None:
        raise VersionConflict("no previous split to roll back to")
    missing = sorted(n for n in current.previous_split if n not in current.versions)
    if missing:
        raise VersionConflict(f"previous split uses versions no longer loaded: {', '.join(missing)}")
    return _next(current, "rollback", split=current.previous_split, previous_split=effective_split(current, order))


def with_unload(current: DeploymentManifest, name: str, order: list[str]) -> DeploymentManifest:
    if name not in current.versions:
        raise VersionNotFound(f"version {name} is not loaded (loaded: {', '.join(current.versions) or 'none'})")
    remaining = [n for n in current.versions if n != name]
    if not remaining:
        raise VersionConflict(f"{name} is the only loaded version; load another before unloading it")
    split = effective_split(current, order)
    if split.get(name, 0) > 0 and not any(split.get(n, 0) > 0 for n in remaining):
        raise VersionConflict(f"{name} takes all traffic; promote another version before unloading it")
    explicit, previous = current.split, current.previous_split
    if explicit is not None and name in explicit:
        rest = {k: w for k, w in explicit.items() if k != name}
        previous, explicit = explicit, (normalise(rest) if sum(rest.values()) > 0 else None)
    if previous is not None and name in previous:
        previous = None
    return _next(current, f"unload {name}", versions=remaining, split=explicit, previous_split=previous)
