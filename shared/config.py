"""Config models → command-line options, env vars and config files, read by pydantic-settings' sources.

Every subcommand's options are the fields of one pydantic model, so the help text lives beside the default
(as in TRL's configs). pydantic-settings reads each place: `CliSettingsSource` builds the parser from the model,
`EnvSettingsSource` reads the command's own namespace. This module only puts them in one order, lowest first:
field default < `--config FILE` (YAML/JSON) < `RARFT_<COMMAND>_<FIELD>` env vars (`RARFT_EVAL_K`,
`RARFT_INIT_POLICY_EPOCHS`) < explicit command-line flags; renames deprecated spellings with a warning; and turns a
bad value into one line naming the flag, variable or file key that held it. Each command reads only its own env
namespace, so a variable meant for one command never sets another's option. `rarft train` keeps TRL's parser for
GRPOConfig's flags and takes its env vars through `env_flags`; `rarft serve` reads the service's `RARFT_<SETTING>`
namespace, the same one `uvicorn --factory` and the compose file use.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_settings import CliPositionalArg, CliSettingsSource, CliVariadicArg, EnvSettingsSource, SettingsError

from shared.errors import UserError

ENV_PREFIX = "RARFT_"
M = TypeVar("M", bound=BaseModel)


class CommandConfig(BaseModel):
    """Base for subcommand configs: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True, protected_namespaces=())


def renamed(*old_names: str) -> dict[str, Any]:
    """`Field(json_schema_extra=renamed("version"))`: the option's former names, accepted for one release with a
    deprecation line (as flag, env var and config key)."""
    return {"renamed_from": list(old_names)}


def positional() -> dict[str, Any]:
    """`Field(json_schema_extra=positional())`: the option is a positional argument on the command line."""
    return {"positional": True}


def _extra(field: Any) -> dict[str, Any]:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def _renames(model: type[BaseModel]) -> dict[str, str]:
    """old name -> current name, for every field of `model`."""
    return {old: name for name, field in model.model_fields.items() for old in _extra(field).get("renamed_from", ())}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in get_args(annotation))
    return get_origin(annotation) in (list, tuple, set)


def env_prefix(prog: str) -> str:
    """`rarft data` -> `RARFT_DATA_`, `rarft init-policy` -> `RARFT_INIT_POLICY_`: one env namespace per command."""
    command = prog.removeprefix("rarft ").strip() or prog
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", command).upper() + "_"


def _decode(raw: str, is_list: bool) -> Any:
    """An env value of a list or mapping option: JSON, else a comma list (lists) or the text itself (a mapping type
    may take a plain string, such as a source path, or refuse it with a one-line error)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return [s for s in raw.split(",") if s] if is_list else raw


class _CommandEnv(EnvSettingsSource):
    """One command's `<prefix><FIELD>` variables, read from a given mapping (tests and deprecation renames pass one)."""

    def __init__(self, model: type[BaseModel], prefix: str, environ: typing.Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(model, case_sensitive=False, env_prefix=prefix)  # type: ignore[arg-type]

    def _load_env_vars(self) -> typing.Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}

    def decode_complex_value(self, field_name: str, field: Any, value: Any) -> Any:
        return _decode(value, _is_list(field.annotation))


def _cli_view(model: type[BaseModel]) -> type[BaseModel]:
    """The model as pydantic-settings should parse it: lists take space-separated values (`--seeds 0 1 2`) and
    fields marked positional are positional. Only parsing uses it; the command's own model validates."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if _extra(field).get("positional"):
            annotation = CliPositionalArg[annotation]  # type: ignore[valid-type]
        elif _is_list(annotation):
            annotation = CliVariadicArg[annotation]  # type: ignore[valid-type]
        if field.default_factory is not None and not field.default_factory_takes_validated_data:
            field = copy.copy(field)  # --help shows the value, not "default factory: <lambda>"
            field.default, field.default_factory = field.default_factory(), None  # type: ignore[call-arg]
        elif annotation is field.annotation:
            continue
        fields[name] = (annotation, field)
    return create_model(model.__name__, __base__=model, **fields) if fields else model


def _add_argument(parser: Any, *names: str, **kwargs: Any) -> Any:
    """pydantic-settings spells a one-letter option `-k`; every option here is `--name` (`rarft eval --k 32`)."""
    names = tuple("-" + n if re.fullmatch(r"-[A-Za-z0-9]", n) else n for n in names)
    return parser.add_argument(*names, **kwargs)


def _deprecated(prog: str, old: str, new: str) -> None:
    print(f"{prog}: warning: {old} is deprecated and will be removed in the next release; use {new}", file=sys.stderr)


def _rename_argv(argv: list[str], renames: dict[str, str], prog: str) -> list[str]:
    out = []
    for arg in argv:
        head, sep, value = arg.partition("=")
        for old, new in renames.items():
            for spelled, current in ((_flag(old), _flag(new)), ("--no-" + _flag(old)[2:], "--no-" + _flag(new)[2:])):
                if head == spelled:
                    _deprecated(prog, spelled, current)
                    arg = current + sep + value
        out.append(arg)
    return out


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
        value = _decode(environ[key], True) if _is_list(annotation) else environ[key]
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


def _epilog(model: type[BaseModel], prefix: str) -> str:
    options = [n for n, f in model.model_fields.items() if not _extra(f).get("positional")] or ["option"]
    return (f"Every option is also the env var {prefix}<OPTION> (e.g. {prefix}{options[0].upper()}) and a key of the "
            "--config file. Precedence: command line > env > file > default.")


def _read_cli(model: type[BaseModel], argv: list[str], prog: str, description: str | None,
              prefix: str) -> tuple[dict[str, Any], Path | None]:
    """The flags the user typed (pydantic-settings' CLI source), and the --config path if one was given."""
    parser = argparse.ArgumentParser(prog=prog, description=description or (model.__doc__ or "").strip().split("\n\n")[0],
                                     epilog=_epilog(model, prefix))
    parser.add_argument("--config", type=Path, help="YAML or JSON file with any of the options below")
    seen: dict[str, Any] = {}

    def parse(p: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
        ns = p.parse_args(args)
        seen.update(vars(ns))
        return ns

    try:
        source = CliSettingsSource(_cli_view(model), cli_prog_name=prog, cli_parse_args=argv, cli_kebab_case=True,  # type: ignore[arg-type]
                                   cli_implicit_flags=True, cli_hide_none_type=True, root_parser=parser,
                                   parse_args_method=parse, add_argument_method=_add_argument)
        values = source()
    except SettingsError as exc:  # a flag's value pydantic-settings could not decode (bad JSON for a mapping)
        raise UserError(re.sub(r"^Parsing error encountered for (\w+): ",
                               lambda m: _flag(m.group(1)) + ": ", str(exc))) from None
    for name, value in values.items():  # pydantic-settings drops the dotted flags when the option itself is text
        dotted = [a.split("=")[0] for a in argv if a.startswith(_flag(name) + ".")]
        if dotted and not isinstance(value, dict):
            raise UserError(f"{_flag(name)} is plain text, so {', '.join(dotted)} would be lost: give {_flag(name)} "
                            "as JSON, or every part of it as a dotted flag")
    return values, seen.get("config")


def parse_command(model: type[M], argv: list[str] | None, prog: str, description: str | None = None,
                  prefix: str | None = None, environ: typing.Mapping[str, str] | None = None) -> M:
    """Parse argv (plus `<prefix><FIELD>` env vars and `--config`) into a validated config model.

    `prefix` defaults to the command's own namespace (`env_prefix(prog)`).
    """
    prefix = env_prefix(prog) if prefix is None else prefix
    environ = dict(os.environ if environ is None else environ)
    renames = _renames(model)
    argv = _rename_argv(list(sys.argv[1:] if argv is None else argv), renames, prog)
    cli_values, config_path = _read_cli(model, argv, prog, description, prefix)
    file_values = read_config_file(config_path) if config_path else {}
    for old, new in renames.items():
        if old in file_values:
            _deprecated(prog, f"'{old}' in {config_path}", f"'{new}'")
            file_values.setdefault(new, file_values.pop(old))
        if prefix + old.upper() in environ:
            _deprecated(prog, prefix + old.upper(), prefix + new.upper())
            environ.setdefault(prefix + new.upper(), environ[prefix + old.upper()])
    warn_unprefixed(model.model_fields, prefix, prog, given=cli_values, environ=environ)

    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, value in file_values.items():
        merged[key], origins[key] = value, f"'{key}' in {config_path}"
    try:
        env_values = _CommandEnv(model, prefix, environ)()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    for key, value in env_values.items():
        merged[key], origins[key] = value, prefix + key.upper()
    for key, value in cli_values.items():
        merged[key], origins[key] = value, _flag(key)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, origins)) from None
