"""The README and docs name only options the commands have: every `rarft <command> --flag` in them is checked
against that command's own parser (its --help), so a renamed or removed option cannot linger in the docs."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from shared.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
USE = re.compile(r"rarft (" + "|".join(sorted(map(re.escape, COMMANDS), key=len, reverse=True)) + r")\b([^`\n|]*)")
FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9_-]*)")


def _options(command: str) -> set[str]:
    import importlib

    module = importlib.import_module(COMMANDS[command][0].split(":")[0])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        module.parse_args(["--help"])
    return set(FLAG.findall(out.getvalue()))


def _documented() -> dict[str, set[tuple[str, str]]]:
    used: dict[str, set[tuple[str, str]]] = {}
    for doc in DOCS:
        for lineno, line in enumerate(doc.read_text().splitlines(), 1):
            for m in USE.finditer(line):
                for flag in FLAG.findall(m.group(2)):
                    used.setdefault(m.group(1), set()).add((flag, f"{doc.name}:{lineno}"))
    return used


def test_docs_use_commands():
    assert {"data", "train", "eval", "serve", "experiment"} <= set(_documented())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_documented_flag_exists(command):
    documented = _documented().get(command, set())
    options = _options(command)
    options |= {o.replace("_", "-") for o in options} | {o.replace("-", "_") for o in options}
    options |= {"no-" + o for o in options}
    unknown = sorted(f"--{flag} ({where})" for flag, where in documented if flag not in options)
    assert unknown == [], f"`rarft {command}` has no such option: {', '.join(unknown)}"
