"""Artifacts are directories with a manifest and checksums, written to a temp path and renamed.

A crash never leaves half an artifact, and a rerun can reuse one whose checksums still match.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from shared.errors import UserError

MANIFEST_NAME = "manifest.json"
M = TypeVar("M", bound=BaseModel)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


LOGS_DIR = "logs"  # an artifact's training logs: TensorBoard events carry wall-clock times, so never its content


def checksum_tree(root: Path, exclude: tuple[str, ...] = (MANIFEST_NAME,)) -> dict[str, str]:
    """sha256 of every file below root, keyed by POSIX relative path (the manifest itself and the top-level logs/
    folder excluded: a rebuilt artifact with the same weights keeps its checksum)."""
    root = Path(root)
    return {
        rel: sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and (rel := p.relative_to(root).as_posix()) not in exclude and not rel.startswith(LOGS_DIR + "/")
    }


def verify_checksums(root: Path, expected: dict[str, str]) -> list[str]:
    """Names of files that are missing or whose content changed; empty when all match."""
    bad = []
    for rel, digest in expected.items():
        path = Path(root) / rel
        if not path.is_file() or sha256_file(path) != digest:
            bad.append(rel)
    return bad


@contextlib.contextmanager
def atomic_dir(final: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp dir beside `final`; rename it into place only if the block succeeds."""
    final = Path(final)
    if final.exists() and not overwrite:
        raise UserError(f"{final} already exists; choose another path or remove it")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_manifest(directory: Path, manifest: BaseModel) -> None:
    atomic_write_text(Path(directory) / MANIFEST_NAME, manifest.model_dump_json(indent=2) + "\n")


def read_manifest_or_none(path: Path, model: type[M]) -> M | None:
    """The manifest at `path` if it exists and validates, else None: a rerun then rebuilds the artifact."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return model.model_validate_json(path.read_text())
    except ValueError:
        return None


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}") from None
