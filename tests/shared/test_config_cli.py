import json
import subprocess
import sys
import time

import pytest
from pydantic import BaseModel, Field, model_validator

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


class SourceSpec(BaseModel):
    """Like `rarft data`'s split sources: JSON, or a plain string that is the source alone."""

    source: str
    size: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        return {"source": value} if isinstance(value, str) else value


class SourceDemo(CommandConfig):
    """A command with a nested option that also takes a plain string."""

    source: SourceSpec | None = Field(default=None, description="where rows come from")
    columns: dict[str, str] | None = Field(default=None, description="column mapping")


def test_nested_options_take_json_text_or_dotted_flags_and_never_drop_a_part():
    assert parse_command(SourceDemo, ["--source", "a.jsonl"], "demo").source.source == "a.jsonl"
    spec = parse_command(SourceDemo, ["--source.source", "a.jsonl", "--source.size", "3"], "demo").source
    assert (spec.source, spec.size) == ("a.jsonl", 3)
    spec = parse_command(SourceDemo, ["--source", '{"source": "a.jsonl"}', "--source.size", "3"], "demo").source
    assert (spec.source, spec.size) == ("a.jsonl", 3)
    with pytest.raises(UserError, match=r"^--source is plain text, so --source.size would be lost"):
        parse_command(SourceDemo, ["--source", "a.jsonl", "--source.size", "3"], "demo")


def test_a_flag_pydantic_settings_cannot_decode_is_one_line_naming_it():
    with pytest.raises(UserError, match=r"^--columns: ") as info:
        parse_command(SourceDemo, ["--columns", "notjson"], "demo")
    assert "\n" not in str(info.value)


def test_list_env_vars_take_json_or_a_comma_list(monkeypatch):
    monkeypatch.setenv("RARFT_DEMO_NAMES", "a,b")
    assert parse_command(DemoConfig, ["--out", "x"], "demo").names == ["a", "b"]
    monkeypatch.setenv("RARFT_DEMO_NAMES", '["c"]')
    assert parse_command(DemoConfig, ["--out", "x"], "demo").names == ["c"]


def test_one_letter_options_are_double_dash(capsys):
    class Short(CommandConfig):
        k: int = Field(default=4, description="samples")

    assert parse_command(Short, ["--k", "8"], "demo").k == 8
    with pytest.raises(SystemExit):
        parse_command(Short, ["--help"], "demo")
    assert "--k" in capsys.readouterr().out
