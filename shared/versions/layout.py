"""Where a version's files live and how a version folder is found, named and read (no heavy imports)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from shared.artifacts import MANIFEST_NAME
from shared.contract import check_version_name
from shared.errors import UserError
from shared.manifests import RetrieverManifest

BANK_FILE = "bank.jsonl"
INDEX_FILE = "index.faiss"
ENCODER_DIR = "encoder"
REQUIRED_FILES = (BANK_FILE, INDEX_FILE)


class VersionError(UserError):
    """A version cannot be used; `status` is the HTTP status the service's admin routes answer with."""

    status = 422


class VersionNotFound(VersionError):
    status = 404


def version_dir(registry: Path, name: str) -> Path:
    """registry/name, refusing names that are not one component or that resolve outside the registry."""
    try:
        check_version_name(name)
    except ValueError as exc:
        raise VersionNotFound(str(exc)) from None
    root = Path(registry).resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise VersionNotFound(f"version {name!r} resolves outside the registry {root}")
    if not (path / MANIFEST_NAME).is_file():
        raise VersionNotFound(f"no version {name!r} in registry {root} (no {name}/{MANIFEST_NAME})")
    return path


def open_version_dir(path: Path | str) -> Path:
    """A version folder given by path (the trainer's flags), with the same checks as one found in a registry."""
    path = Path(path)
    if not (path / MANIFEST_NAME).is_file():
        raise VersionNotFound(f"{path} is not a retriever version (no {MANIFEST_NAME}); build one with "
                              "`rarft build-retriever`")
    return version_dir(path.resolve().parent, path.resolve().name)


def read_manifest(path: Path) -> RetrieverManifest:
    try:
        return RetrieverManifest.model_validate(json.loads((Path(path) / MANIFEST_NAME).read_text()))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise VersionError(f"version {Path(path).name}: unreadable manifest: {str(exc).splitlines()[0]}") from None


def encoder_dir(path: Path, manifest: RetrieverManifest) -> Path:
    enc = (Path(path) / manifest.encoder_path).resolve()
    if Path(path).resolve() not in enc.parents:
        raise VersionError(f"version {Path(path).name}: encoder_path {manifest.encoder_path!r} points outside the version folder")
    return enc


def discover(registry: Path) -> list[str]:
    """Version names in the registry, newest (manifest created_at, then file mtime) first."""
    root = Path(registry)
    found = []
    if not root.is_dir():
        return []
    for child in root.iterdir():
        if child.name.startswith(".") or not (child / MANIFEST_NAME).is_file():
            continue  # temp dirs of builds in progress start with '.'
        try:
            check_version_name(child.name)
            created = read_manifest(child).created_at
        except (ValueError, VersionError):
            created = ""
        found.append((created, (child / MANIFEST_NAME).stat().st_mtime, child.name))
    return [name for *_, name in sorted(found, reverse=True)]
