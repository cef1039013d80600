import json
import subprocess
import sys
import time

import pytest
from pydantic import Field

from shared.config import CommandConfig, parse_command
from shared.errors import UserError


class DemoConfig(CommandConfig):
    """A demo command."""

    out: str = Field(description="output dir")
    size: int = Field(default=10, ge=1, description="how many")
    shuffle: bool = Field(default=True, description="shuffle rows")
    names: list[str] = Field(default_factory=list, description="names")


def test_cli_overrides_env_overrides_file(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("out: from-file\nsize: 3\n")
    monkeypatch.setenv("RARFT_DEMO_SIZE", "5")
    c = parse_command(DemoConfig, ["--config", str(cfg)], "demo")
    assert (c.out, c.size) == ("from-file", 5)
    c = parse_command(DemoConfig, ["--config", str(cfg), "--size", "7", "--no-shuffle", "--names", "a", "b"], "demo")
    assert (c.size, c.shuffle, c.names) == (7, False, ["a", "b"])


def test_json_config_and_unknown_key(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"out": "x", "bogus": 1}))
    with pytest.raises(UserError, match="unknown option 'bogus'"):
        parse_command(DemoConfig, ["--config", str(cfg)], "demo")


def test_bad_values_name_the_flag():
    with pytest.raises(UserError, match="--size"):
        parse_command(DemoConfig, ["--out", "x", "--size", "0"], "demo")
    with pytest.raises(UserError, match="config file not found"):
        parse_command(DemoConfig, ["--config", "/nonexistent.yaml"], "demo")


def test_rarft_help_is_fast_and_lists_commands():
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "shared.cli", "--help"], capture_output=True, text=True, check=True)
    assert time.perf_counter() - t0 < 10  # generous bound; it imports nothing heavy
    for name in ("data", "init-policy", "serve", "train", "experiment"):
        assert name in out.stdout
    check = subprocess.run([sys.executable, "-c", "import shared.cli, sys; print('torch' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "False"


def test_unknown_command_exits_nonzero():
    res = subprocess.run([sys.executable, "-m", "shared.cli", "bogus"], capture_output=True, text=True)
    assert res.returncode == 2 and "unknown command" in res.stderr


def test_help_marks_required_fields_and_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        parse_command(DemoConfig, ["--help"], "demo")
    out = capsys.readouterr().out
    assert "(required)" in out and "(default: 10)" in out and "PydanticUndefined" not in out
