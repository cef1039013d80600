"""Config models → command-line options, env vars and config files.

Every subcommand's options are the fields of one pydantic model, so the help text lives beside the default
(as in TRL's configs). Precedence, lowest first: field default < `--config FILE` (YAML/JSON) <
`RARFT_<COMMAND>_<FIELD>` env vars (`RARFT_EVAL_K`, `RARFT_INIT_POLICY_EPOCHS`) < explicit command-line flags.
Each command reads only its own namespace, so a variable meant for one command never sets another's option.
`rarft train` keeps TRL's parser for GRPOConfig's flags and takes its env vars through `env_flags`; `rarft serve`
reads the service's `RARFT_<SETTING>` namespace, the same one `uvicorn --factory` and the compose file use.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
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


def _json_or_text(raw: str) -> Any:
    """A mapping flag's JSON, or the text itself for the model to accept (a config type may take a plain string,
    such as a source path) or to refuse with a one-line error naming the flag."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def renamed(*old_names: str) -> dict[str, Any]:
    """`Field(json_schema_extra=renamed("version"))`: the option's former names, accepted for one release with a
    deprecation line (as flag, env var and config key)."""
    return {"renamed_from": list(old_names)}


def _old_names(field: Any) -> list[str]:
    return list((field.json_schema_extra or {}).get("renamed_from", ()))


def _renames(model: type[BaseModel]) -> dict[str, str]:
    """old name -> current name, for every field of `model`."""
    return {old: name for name, field in model.model_fields.items() for old in _old_names(field)}


def _deprecated(prog: str, old: str, new: str) -> None:
    print(f"{prog}: warning: {old} is deprecated and will be removed in the next release; use {new}", file=sys.stderr)


def _example(model: type[BaseModel]) -> str:
    options = [n for n, f in model.model_fields.items() if not (f.json_schema_extra or {}).get("positional")]  # type: ignore[union-attr]
    return (options or list(model.model_fields) or ["option"])[0]


def build_parser(model: type[BaseModel], prog: str, description: str | None = None,
                 prefix: str | None = None) -> argparse.ArgumentParser:
    prefix = env_prefix(prog) if prefix is None else prefix
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description or (model.__doc__ or "").strip().split("\n\n")[0],
        argument_default=argparse.SUPPRESS,  # only flags the user typed override file/env values
        epilog=f"Every option is also the env var {prefix}<OPTION> (e.g. {prefix}{_example(model).upper()}) and a key of "
               "the --config file. Precedence: command line > env > file > default.",
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
        if (field.json_schema_extra or {}).get("positional"):  # type: ignore[union-attr]
            kwargs.pop("dest")
            if _is_list(field.annotation):
                kwargs["nargs"] = "*"
            elif get_origin(ann) is Literal:
                kwargs["choices"] = list(get_args(ann))
            parser.add_argument(name, metavar=name.upper(), **kwargs)
            continue
        if _is_bool(field.annotation):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif _is_list(field.annotation):
            kwargs["nargs"] = "*"
        elif _is_mapping(field.annotation):
            kwargs["type"] = _json_or_text
            kwargs["metavar"] = "JSON"
        elif get_origin(ann) is Literal:
            kwargs["choices"] = list(get_args(ann))
        parser.add_argument(_flag(name), **kwargs)
        for old in _old_names(field):  # accepted, not advertised: --help and the docs show the current name only
            parser.add_argument(_flag(old), **{**kwargs, "help": argparse.SUPPRESS})
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


def env_prefix(prog: str) -> str:
    """`rarft data` -> `RARFT_DATA_`, `rarft init-policy` -> `RARFT_INIT_POLICY_`: one env namespace per command."""
    command = prog.removeprefix("rarft ").strip() or prog
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", command).upper() + "_"


def _env_value(raw: str, is_list: bool, is_mapping: bool) -> Any:
    if is_list or is_mapping:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return [s for s in raw.split(",") if s] if is_list else raw
    return raw


def read_env(model: type[BaseModel], prefix: str, environ: typing.Mapping[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """`<prefix><FIELD>` for every field, as (value, variable name); lists and mappings are JSON or comma lists."""
    environ = os.environ if environ is None else environ
    values: dict[str, tuple[Any, str]] = {}
    for name, field in model.model_fields.items():
        key = prefix + name.upper()
        if key in environ:
            values[name] = (_env_value(environ[key], _is_list(field.annotation), _is_mapping(field.annotation)), key)
    return values


def warn_unprefixed(names: typing.Iterable[str], prefix: str, prog: str, given: typing.Container[str] = (),
                    environ: typing.Mapping[str, str] | None = None) -> list[str]:
    """One stderr line per `RARFT_<OPTION>` that an older release read for every command and this one ignores."""
    environ = os.environ if environ is None else environ
    if prefix == ENV_PREFIX:
        return []
    ignored = [n for n in names if ENV_PREFIX + n.upper() in environ and prefix + n.upper() not in environ and n not in given]
    for name in ignored:
        print(f"{prog}: warning: {ENV_PREFIX + name.upper()} is ignored (env vars are per command now); "
              f"set {prefix + name.upper()}", file=sys.stderr)
    return ignored


def env_flags(fields: typing.Mapping[str, Any], prog: str, environ: typing.Mapping[str, str] | None = None) -> list[str]:
    """`<prefix><FIELD>` variables as `--field value` flags, for commands parsed by another parser (TRL's).

    `fields` maps a field name to its annotation. Put the result before the user's flags: argparse keeps the last
    value, so the command line still wins, and both beat a `--config` file (TRL's parser makes it the defaults).
    """
    environ = os.environ if environ is None else environ
    prefix = env_prefix(prog)
    flags: list[str] = []
    for name, annotation in fields.items():
        key = prefix + name.upper()
        if key not in environ:
            continue
        value = _env_value(environ[key], _is_list(annotation), False)
        flags += [f"--{name}", *(str(v) for v in value)] if isinstance(value, list) else [f"--{name}", str(value)]
    return flags


def format_validation_error(exc: ValidationError, origins: typing.Mapping[str, str] | None = None) -> str:
    """One line; each problem names where its value came from: the flag, the env var or the config file key."""
    origins = origins or {}
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across options (a model validator): its message says what to change
            lines.append(msg)
            continue
        loc = ".".join(str(p) for p in err["loc"])
        name = str(err["loc"][0])
        where = origins.get(name, _flag(name))
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown option '{loc}'" + (f" {where}" if name in origins else ""))
        else:
            lines.append(f"{where}: {msg}")
    return "; ".join(lines)


def load_config(model: type[M], file_values: dict[str, Any] | None = None, cli_values: dict[str, Any] | None = None,
                environ: typing.Mapping[str, str] | None = None, prefix: str = ENV_PREFIX, file_name: str = "") -> M:
    """Merge default < file < env < CLI and validate; errors name the flag, variable or file key that was wrong."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, value in (file_values or {}).items():
        merged[key], origins[key] = value, f"in {file_name}" if file_name else "in the config file"
    for key, (value, var) in read_env(model, prefix, environ).items():
        merged[key], origins[key] = value, var
    for key, value in (cli_values or {}).items():
        merged[key], origins[key] = value, _flag(key)
    origins = {k: (f"'{k}' {v}" if v.startswith("in ") else v) for k, v in origins.items()}
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, origins)) from None


def parse_command(model: type[M], argv: list[str] | None, prog: str, description: str | None = None,
                  prefix: str | None = None, environ: typing.Mapping[str, str] | None = None) -> M:
    """Parse argv (plus `<prefix><FIELD>` env vars and `--config`) into a validated config model.

    `prefix` defaults to the command's own namespace (`env_prefix(prog)`).
    """
    prefix = env_prefix(prog) if prefix is None else prefix
    environ = os.environ if environ is None else environ
    parser = build_parser(model, prog, description, prefix)
    argv = list(sys.argv[1:] if argv is None else argv)
    ns = vars(parser.parse_args(argv))
    for old, new in _renames(model).items():
        spelled = {_flag(old), "--no-" + _flag(old)[2:]}
        if any(a.split("=")[0] in spelled for a in argv):
            _deprecated(prog, _flag(old), _flag(new))
    config_path = ns.pop("config", None)
    file_values = read_config_file(config_path) if config_path else {}
    for old, new in _renames(model).items():
        if old in file_values:
            _deprecated(prog, f"'{old}' in {config_path}", f"'{new}'")
            file_values.setdefault(new, file_values.pop(old))
        if prefix + old.upper() in environ:
            _deprecated(prog, prefix + old.upper(), prefix + new.upper())
            environ = {**environ, prefix + new.upper(): environ[prefix + new.upper()] if prefix + new.upper() in environ
                       else environ[prefix + old.upper()]}
    warn_unprefixed(model.model_fields, prefix, prog, given=ns, environ=environ)
    return load_config(model, file_values, ns, environ, prefix, str(config_path or ""))
