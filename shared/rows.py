"""JSONL of Demonstration rows: the on-disk format of the bank and of every problem split (both sides read it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from shared.artifacts import atomic_write_text
from shared.contract import Demonstration
from shared.errors import UserError


def read_rows(path: Path | str) -> list[Demonstration]:
    """Every line one Demonstration; a bad line is a UserError naming the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    rows: list[Demonstration] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(Demonstration.model_validate_json(line))
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"]) or "row"
                raise UserError(f"{path}:{lineno}: field '{where}': {err['msg']}") from None
    return rows


def dumps_rows(rows: Iterable[Demonstration]) -> str:
    return "".join(json.dumps(r.model_dump(mode="json"), ensure_ascii=False, sort_keys=False) + "\n" for r in rows)


def write_rows(path: Path | str, rows: Iterable[Demonstration]) -> None:
    """Write atomically (temp file + rename): a crash never leaves half a split."""
    atomic_write_text(Path(path), dumps_rows(rows))


def read_required_rows(path: Path | str, what: str, hint: str = "") -> list[Demonstration]:
    """`read_rows` for an input a command cannot run without: a missing or empty file is one UserError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} not found: {path}" + (f" ({hint})" if hint else ""))
    rows = read_rows(path)
    if not rows:
        raise UserError(f"{what} {path} holds no rows")
    return rows


def read_split(data_dir: Path | str, split: str) -> list[Demonstration]:
    """Rows of DATA/<split>.jsonl, the layout `rarft data` writes."""
    return read_required_rows(Path(data_dir) / f"{split}.jsonl", f"split {split}",
                              "--data must be a directory written by `rarft data` (bank/train/rl/dev/test.jsonl)")


def by_id(rows: list[Demonstration], what: str) -> dict[str, Demonstration]:
    """Rows keyed by id; a repeated id is a UserError naming `what` held it."""
    out: dict[str, Demonstration] = {}
    for row in rows:
        if row.id in out:
            raise UserError(f"duplicate id {row.id!r} in the {what}")
        out[row.id] = row
    return out
