"""Config models → command-line options, env vars and config files.

Every subcommand's options are the fields of one pydantic model, so the help text lives beside the default
(as in TRL's configs). Precedence, lowest first: field default < `--config FILE` (YAML/JSON) < `RARFT_<FIELD>`
env vars < explicit command-line flags.
"""

from __future__ import annotations

import argparse
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import UserError

ENV_PREFIX = "RARFT_"
M = TypeVar("M", bound=BaseModel)


class CommandConfig(BaseModel):
    """Base for subcommand configs: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True, protected_namespaces=())


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _strip_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_list(annotation: Any) -> bool:
    return get_origin(_strip_optional(annotation)) in (list, tuple, set)


def _is_bool(annotation: Any) -> bool:
    return _strip_optional(annotation) is bool


def _is_mapping(annotation: Any) -> bool:
    ann = _strip_optional(annotation)
    return get_origin(ann) is dict or (isinstance(ann, type) and issubclass(ann, BaseModel))


def build_parser(model: type[BaseModel], prog: str, description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description or (model.__doc__ or "").strip().split("\n\n")[0],
        argument_default=argparse.SUPPRESS,  # only flags the user typed override file/env values
    )
    parser.add_argument("--config", type=Path, help="YAML or JSON file with any of the options below")
    for name, field in model.model_fields.items():
        help_text = (field.description or "").replace("%", "%%")
        if field.is_required():
            help_text += " (required)"
        elif field.default_factory is None and field.default is not None and not _is_mapping(field.annotation):
            help_text += f" (default: {field.default!s})".replace("%", "%%")
        kwargs: dict[str, Any] = {"help": help_text, "dest": name}
        ann = _strip_optional(field.annotation)
        if _is_bool(field.annotation):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif _is_list(field.annotation):
            kwargs["nargs"] = "*"
        elif _is_mapping(field.annotation):
            kwargs["type"] = json.loads
            kwargs["metavar"] = "JSON"
        elif get_origin(ann) is Literal:
            kwargs["choices"] = list(get_args(ann))
        parser.add_argument(_flag(name), **kwargs)
    return parser


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML/JSON mapping; keys may use dashes or underscores."""
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml and json raise unrelated types
        raise UserError(f"cannot parse config file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold a mapping of option names to values")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def read_env(model: type[BaseModel], environ: typing.Mapping[str, str] | None = None) -> dict[str, Any]:
    """`RARFT_<FIELD>` for every field; lists and mappings are given as JSON."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = ENV_PREFIX + name.upper()
        if key not in environ:
            continue
        raw = environ[key]
        if _is_list(field.annotation) or _is_mapping(field.annotation):
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError:
                values[name] = [s for s in raw.split(",") if s] if _is_list(field.annotation) else raw
        else:
            values[name] = raw
    return values


def format_validation_error(exc: ValidationError, source: str = "option") -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        flag = _flag(str(err["loc"][0])) if err["loc"] else loc
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown {source} '{loc}'")
        else:
            lines.append(f"{flag}: {err['msg']}")
    return "; ".join(lines)


def load_config(model: type[M], file_values: dict[str, Any] | None = None, cli_values: dict[str, Any] | None = None,
                environ: typing.Mapping[str, str] | None = None) -> M:
    merged: dict[str, Any] = {}
    merged.update(file_values or {})
    merged.update(read_env(model, environ))
    merged.update(cli_values or {})
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc)) from None


def parse_command(model: type[M], argv: list[str] | None, prog: str, description: str | None = None) -> M:
    """Parse argv (plus env and `--config`) into a validated config model."""
    parser = build_parser(model, prog, description)
    ns = vars(parser.parse_args(argv))
    config_path = ns.pop("config", None)
    file_values = read_config_file(config_path) if config_path else {}
    return load_config(model, file_values, ns)
