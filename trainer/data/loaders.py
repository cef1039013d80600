"""Load real problem sets (files or hub datasets) into Demonstration rows through a column mapping.

Built on `datasets`, so JSONL/JSON, parquet, CSV and hub names all go through one path. Format presets cover
GSM8K-style (`question`/`answer` with a `#### N` tail), MATH-style (`problem`/`solution`/`answer` or a
`\\boxed{}` in the solution) and AIME-style (`problem`/`answer`) data; an explicit mapping covers the rest.
A bad file is one UserError naming the file, row and column. Nothing is dropped silently: duplicates are
removed and counted in a `LoadSummary` that the command prints.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.contract import Demonstration
from shared.errors import UserError
from trainer.verify import extract_boxed

SAMPLES_DIR = Path(__file__).parent / "samples"
FIELDS = ("id", "problem", "solution", "answer", "strategy", "theme")
_GSM8K_TAIL = re.compile(r"####\s*(.+?)\s*$", re.S)
_CALC = re.compile(r"<<[^>]*>>")  # GSM8K calculator annotations: "<<3*4=12>>"

# preset -> {field: column}; "answer" of gsm8k holds the whole solution with its "#### N" tail
PRESETS: dict[str, dict[str, str]] = {
    "gsm8k": {"problem": "question", "answer": "answer"},
    "math": {"problem": "problem", "solution": "solution", "answer": "answer"},
    "aime": {"problem": "problem", "answer": "answer"},
    "demonstration": {f: f for f in FIELDS},
}
_REQUIRED = {"gsm8k": ("problem", "answer"), "math": ("problem", "solution"), "aime": ("problem", "answer"),
             "demonstration": ("problem", "answer")}
_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


@dataclass
class LoadSummary:
    """What happened to every input row: loaded, or dropped for a named reason."""

    source: str
    format: str
    rows_read: int = 0
    loaded: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + n

    def __str__(self) -> str:
        return self.line()

    def line(self) -> str:
        drops = ", ".join(f"{n} {why}" for why, n in self.dropped.items()) or "none"
        return f"{self.source} ({self.format}): {self.rows_read} rows read, {self.loaded} loaded, dropped: {drops}"


def guess_format(columns: list[str]) -> str:
    cols = set(columns)
    if {"question", "answer"} <= cols:
        return "gsm8k"
    if {"problem", "solution"} <= cols:
        return "math"
    if {"problem", "answer"} <= cols:
        return "aime"
    raise UserError(f"cannot guess the format from columns {sorted(cols)}: pass --format gsm8k|math|aime or --columns")


def _check_jsonl(path: Path) -> None:
    """datasets reports a bad JSON line without its number; find it first so the error can name it."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: row {lineno} is not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise UserError(f"{path}: row {lineno} is not a JSON object")


_NAME_CONFIG = re.compile(r"^(?P<name>[^:]+):(?P<config>[\w.-]+)$")


def split_config(source: str, subset: str | None) -> tuple[str, str | None]:
    """`NAME:CONFIG` (`openai/gsm8k:main`, `./my_dataset:socratic`) as (NAME, CONFIG); a path that exists as
    written is never split. Giving a different config both ways is an error."""
    match = _NAME_CONFIG.match(source)
    if match is None or Path(source).expanduser().exists():
        return source, subset
    name, config = match["name"], match["config"]
    if subset is not None and subset != config:
        raise UserError(f"{source} names config {config!r} but --subset is {subset!r}: give one of them")
    return name, config


def _is_dataset_repo(path: Path) -> bool:
    """A folder laid out as a hub dataset repository (a README card or data files), which `datasets` reads with
    its configs and splits, as opposed to a `save_to_disk` folder."""
    return (path / "README.md").is_file() or any(p.suffix.lower() in _BUILDERS for p in path.rglob("*") if p.is_file())


def _missing_config(source: str, subset: str | None, exc: Exception) -> UserError | None:
    """A one-line error listing the configs, where `datasets` can tell them, for a missing or unknown config."""
    text = str(exc)
    if "config" not in text.lower():  # "Config name is missing", "BuilderConfig 'x' not found"
        return None
    import datasets

    try:
        names = datasets.get_dataset_config_names(source)
    except Exception:  # a hub that cannot be reached, a folder without a card: nothing more to tell
        return None
    if len(names) < 2 and "Config name is missing" not in text:
        return None
    if subset is not None and subset not in names:
        return UserError(f"{source} has no config {subset!r}; its configs: {', '.join(names)}")
    return UserError(f"{source} has configs {', '.join(names)}: choose one as {source}:CONFIG (or --subset)")


def read_table(source: str | Path, split: str = "train", subset: str | None = None) -> list[dict[str, Any]]:
    """Rows of a local JSONL/JSON/parquet/CSV file (or a glob of them), a `save_to_disk` folder, a dataset repository
    folder, or a hub dataset split (`subset` is its config, e.g. `main` for openai/gsm8k; `NAME:CONFIG` says the
    same), as plain dicts."""
    import datasets

    datasets.disable_progress_bars()
    source, subset = split_config(str(source), subset)
    path = Path(source).expanduser()
    try:
        if any(ch in source for ch in "*?["):  # a glob of files: one table
            files = sorted(glob.glob(str(path)))
            if not files:
                raise UserError(f"no file matches {source}")
            builder = _BUILDERS.get(Path(files[0]).suffix.lower())
            if builder is None or any(Path(f).suffix.lower() != Path(files[0]).suffix.lower() for f in files):
                raise UserError(f"{source}: the files must share one type of .jsonl, .json, .parquet or .csv")
            ds = datasets.load_dataset(builder, data_files=files, split="train", keep_in_memory=True)
        elif path.is_dir() and ((path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file()):
            ds = datasets.load_from_disk(str(path), keep_in_memory=True)  # a save_to_disk folder
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise UserError(f"{source} has splits {sorted(ds)}; choose one with --split")
                ds = ds[split]
        elif path.is_dir():
            if not _is_dataset_repo(path):
                raise UserError(f"{source} is a folder but neither a `datasets` save_to_disk folder nor a dataset "
                                "repository (README.md or data files); give a file or a glob")
            ds = datasets.load_dataset(str(path), subset, split=split, keep_in_memory=True)
        elif path.exists():
            builder = _BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise UserError(f"{path}: unsupported file type {path.suffix!r}; use .jsonl, .json, .parquet or .csv")
            if path.suffix.lower() == ".jsonl":
                _check_jsonl(path)
            ds = datasets.load_dataset(builder, data_files=str(path), split="train", keep_in_memory=True)
        elif path.suffix or source.startswith((".", "/", "~")):
            raise UserError(f"file not found: {source} (hub datasets are named OWNER/NAME, without a file suffix)")
        else:  # a hub dataset name such as "openai/gsm8k" (only reachable where a hub is)
            ds = datasets.load_dataset(source, subset, split=split)
    except UserError:
        raise
    except Exception as exc:  # pyarrow, pandas and the hub client raise unrelated types
        if (missing := _missing_config(source, subset, exc)) is not None:
            raise missing from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot read {source}: {first}") from None
    return [dict(r) for r in ds]


def _cell(row: dict[str, Any], column: str, where: str, rowno: int, required: bool) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and value != value):  # None or NaN (empty CSV cell)
        if required:
            raise UserError(f"{where}: row {rowno}, column '{column}': empty value")
        return ""
    text = str(value).strip()
    if required and not text:
        raise UserError(f"{where}: row {rowno}, column '{column}': empty value")
    return text


def to_demonstration(row: dict[str, Any], fmt: str, mapping: Mapping[str, str], where: str, rowno: int) -> Demonstration:
    """One input row -> Demonstration, applying the preset's answer/solution conventions."""
    required = set(_REQUIRED.get(fmt, ("problem", "answer")))
    values = {f: _cell(row, col, where, rowno, f in required) for f, col in mapping.items() if f in FIELDS}
    if fmt == "gsm8k":
        m = _GSM8K_TAIL.search(values["answer"])
        if not m:
            raise UserError(f"{where}: row {rowno}, column '{mapping['answer']}': no '#### N' final answer")
        values["solution"] = _CALC.sub("", values["answer"][: m.start()]).strip()
        values["answer"] = m.group(1).replace(",", "").strip()
    elif fmt == "math" and not values.get("answer"):
        boxed = extract_boxed(values.get("solution", ""))
        if not boxed:
            raise UserError(f"{where}: row {rowno}, column '{mapping['solution']}': no answer column and no \\boxed{{}} answer")
        values["answer"] = boxed
    if not values.get("answer"):
        raise UserError(f"{where}: row {rowno}, column '{mapping.get('answer', 'answer')}': empty answer")
    extra = {k: v for k, v in row.items() if k not in mapping.values() and isinstance(v, (str, int, float, bool))}
    try:
        return Demonstration(
            id=values.get("id") or f"{Path(where).stem}-{rowno:05d}", problem=values["problem"],
            solution=values.get("solution", ""), answer=values["answer"], strategy=values.get("strategy") or None,
            theme=values.get("theme") or None, source=where, metadata={"row": rowno, **extra},
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "row"
        raise UserError(f"{where}: row {rowno}, column '{mapping.get(name, name)}': {err['msg']}") from None


def load_problems(source: str | Path, fmt: str | None = None, columns: Mapping[str, str] | None = None,
                  split: str = "train", subset: str | None = None) -> tuple[list[Demonstration], LoadSummary]:
    """Read a file or hub dataset into Demonstrations; `columns` overrides the preset's {field: column}."""
    table = read_table(source, split, subset)
    where = str(source)
    if not table:
        raise UserError(f"{where}: no rows")
    present = list(table[0].keys())
    fmt = fmt or ("demonstration" if columns else guess_format(present))
    mapping = dict(PRESETS[fmt])
    if fmt == "demonstration":
        mapping = {f: c for f, c in mapping.items() if c in present}
    for f in ("id", "strategy", "theme"):  # optional fields map themselves when the file has them
        if f in present:
            mapping.setdefault(f, f)
    mapping.update(columns or {})
    for f in (*_REQUIRED.get(fmt, ()), *(columns or {})):
        col = mapping.get(f)
        if col is None or col not in present:
            raise UserError(f"{where}: missing column '{col or f}' (field '{f}' of format {fmt}); "
                            f"columns present: {present}")
    summary = LoadSummary(where, fmt, rows_read=len(table))
    rows = [to_demonstration(r, fmt, mapping, where, i) for i, r in enumerate(table, 1)]
    summary.loaded = len(rows)
    return rows, summary
