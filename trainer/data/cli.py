"""`rarft data`: build the embedded analogy benchmark, or split a real problem file, into a data dir."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config import CommandConfig, parse_command, renamed
from shared.errors import UserError
from shared.manifests import DataManifest
from shared.models import EMBEDDED_ENCODER
from trainer.data.benchmark import SPLITS, max_rl_wordings
from trainer.data.strategies import WORDINGS

log = logging.getLogger(__name__)


Format = Literal["gsm8k", "math", "aime", "demonstration"]


class SourceSpec(BaseModel):
    """Where one split's rows come from when it is kept as it is (an official test set, a bank from another corpus).
    A plain string is the `source` alone."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="file, glob, save_to_disk or dataset repository folder, or hub dataset "
                        "NAME[:CONFIG] (as --source)")
    split: str = Field(default="train", description="split of a hub dataset or save_to_disk folder")
    subset: str | None = Field(default=None, description="config (subset) of a hub dataset")
    format: Format | None = Field(default=None, description="column preset (default: guessed from the columns)")
    columns: dict[str, str] | None = Field(default=None, description="explicit {field: column} mapping")
    size: int | None = Field(default=None, ge=1, description="keep only the first SIZE distinct problems, in source "
                             "order (default: all of them)")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        return {"source": value} if isinstance(value, str) else value


def _split_source(split: str) -> Any:
    return Field(default=None, description=f"{split}.jsonl whole from its own source, kept as it is, instead of "
                 "drawn from --source: a path or hub name, or JSON with source, split, subset, format, columns, size")


class DataConfig(CommandConfig):
    """Build the embedded analogy benchmark (or split a GSM8K/MATH/AIME-style file) into bank/train/rl/dev/test."""

    out: Path = Field(description="output dir: bank.jsonl, train.jsonl, rl.jsonl, dev.jsonl, test.jsonl and manifest.json")
    seed: int = Field(default=0, description="generator and split seed; the same seed gives the same files")
    bank_size: int = Field(default=2000, ge=1, description="retrievable demonstrations in bank.jsonl")
    train_size: int = Field(default=2000, ge=1, description="warm-start (SFT) problems in train.jsonl; also the labelled queries")
    rl_size: int = Field(default=600, ge=1, description="RL training problems in rl.jsonl (the benchmark writes them in "
                         "wordings no other split uses)")
    dev_size: int = Field(default=300, ge=1, description="dev problems in dev.jsonl: every sweep and default choice is made here")
    test_size: int = Field(default=500, ge=1, description="held-out test problems in test.jsonl, read once per run at its end")
    rl_wordings: int = Field(default=1, ge=1, le=max_rl_wordings(), description="RL-only templates per strategy the benchmark's RL "
                             "rows are written from; more changes only the RL rows' questions (same rows, params and "
                             "surfaces; every other split stays the same)")
    encoder: str = Field(default=EMBEDDED_ENCODER, description="sentence-transformers encoder for the semantic check "
                         "(the embedded MiniLM, a local folder or a hub name)")
    k: int = Field(default=4, ge=1, le=64, description="neighbours per test query in the semantic strategy/theme-match@k check")
    semantic_check: bool = Field(default=True, description="measure semantic strategy-match@k and theme-match@k with the encoder")
    overwrite: bool = Field(default=False, json_schema_extra=renamed("force"), description="rebuild even when OUT already holds data built with this config")
    source: str | None = Field(default=None, description="instead of the benchmark, split this file (JSONL/JSON/parquet/CSV; a "
                               "glob such as 'data/*.parquet'; a datasets save_to_disk folder or dataset repository "
                               "folder) or hub dataset name (NAME[:CONFIG], e.g. openai/gsm8k:main) leakage-safely")
    format: Format | None = Field(
        default=None, description="column preset for --source (default: guessed from the columns)")
    columns: dict[str, str] | None = Field(default=None, description="explicit column mapping for --source, JSON "
                                           "{field: column}, e.g. '{\"problem\": \"question\"}'")
    split: str = Field(default="train", description="split to read from a hub dataset or a save_to_disk folder --source")
    subset: str | None = Field(default=None, description="config (subset) of a hub dataset or dataset repository --source, e.g. main for "
                        "openai/gsm8k (the same as --source openai/gsm8k:main)")
    bank_source: SourceSpec | None = _split_source("bank")
    train_source: SourceSpec | None = _split_source("train")
    rl_source: SourceSpec | None = _split_source("rl")
    dev_source: SourceSpec | None = _split_source("dev")
    test_source: SourceSpec | None = _split_source("test")

    @model_validator(mode="after")
    def _source_options(self) -> DataConfig:
        if self.source is None and (self.format or self.columns):
            raise ValueError("--format/--columns only apply with --source FILE")
        if self.rl_wordings != 1 and (self.source is not None or self.split_sources()):
            raise ValueError("--rl-wordings applies to the embedded benchmark, not to --source data")
        own = self.split_sources()
        if own and self.source is None and len(own) < len(SPLITS):
            missing = [n for n in SPLITS if n not in own]
            raise ValueError(f"--{'/--'.join(own)}-source given but nothing for {', '.join(missing)}: "
                             f"add --source FILE to draw them from, or a --<split>-source for each")
        return self

    def split_sources(self) -> dict[str, SourceSpec]:
        """The splits that come whole from their own source, by split name."""
        return {n: spec for n in SPLITS if (spec := getattr(self, f"{n}_source")) is not None}

    def identity(self) -> dict:
        """The options that decide the files' content: a rerun with the same identity reuses the dir."""
        # options added later are left out while unset, so data dirs built before they existed stay valid
        unset = {"subset"} if self.subset is None else set()
        unset |= {f"{n}_source" for n in SPLITS if getattr(self, f"{n}_source") is None}
        unset |= {"rl_wordings"} if self.rl_wordings == 1 else set()
        return self.model_dump(mode="json", exclude={"out", "overwrite", *unset})


def _print_summary(manifest: DataManifest, out: Path) -> None:
    print(f"data dir: {out}  (generator {manifest.generator}, seed {manifest.seed})")
    for name, size in manifest.sizes.items():
        print(f"  {name:<5} {size:>6} rows  sha256 {manifest.files.get(f'{name}.jsonl', '')[:16]}")
    st = manifest.stats
    if manifest.strategies:
        print(f"  {len(manifest.strategies)} strategies x {len(manifest.themes)} themes; "
              f"twins: " + ", ".join(f"{n} {st[n]['twins']}" for n in manifest.sizes if n in st))
        print(f"  wordings {'/'.join(WORDINGS)}: " + ", ".join(
            f"{n} " + "/".join(str(st[n].get("wordings", {}).get(w, 0)) for w in WORDINGS)
            for n in manifest.sizes if n in st))
    leaks = {k: v for k, v in st.get("leakage", {}).items() if v}
    print(f"  leakage between splits: {'none' if not leaks else leaks}")
    if "exact_copies" in st:
        copies = {k: v for k, v in st["exact_copies"].items() if v}
        print(f"  dev/test rows whose worked solution another split holds: {'none' if not copies else copies}")
    if "loading" in st:
        print(f"  loading: {st['loading']}")
    sem = st.get("semantic")
    if sem:
        k = sem["k"]
        for split in ("dev", "test"):
            m = sem.get(split)
            if not m:
                continue
            print(f"  semantic check ({sem['encoder']}, top-{k} of {split} against bank):")
            print(f"    strategy-match@{k} = {m[f'strategy_match@{k}']:.3f}  (chance {m['strategy_chance']:.3f})")
            print(f"    theme-match@{k}    = {m[f'theme_match@{k}']:.3f}  (chance {m['theme_chance']:.3f})")
            for wording in WORDINGS:
                if f"strategy_match@{k}/{wording}" in m:
                    print(f"    strategy-match@{k} on {wording} wordings = {m[f'strategy_match@{k}/{wording}']:.3f}"
                          f"  ({m[f'{wording}_queries']} queries)")
            if m.get("twin_queries"):
                print(f"    surface twin ranked first for {m['twin_top1']:.0%} of {m['twin_queries']} twin queries")


def parse_args(argv: list[str] | None):
    """`rarft data`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(DataConfig, argv, prog="rarft data")


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    from trainer.data.build import build_dataset, existing_manifest

    out = cfg.out
    if not cfg.overwrite:
        found = existing_manifest(out, cfg.identity())
        if found is not None:
            print(f"{out} already holds data built with this config (checksums verified); reusing it. "
                  "Pass --overwrite to rebuild.")
            _print_summary(found, out)
            return 0
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    if cfg.semantic_check:  # fail before any work when the encoder folder is missing
        from shared.models import resolve_encoder_path

        path = resolve_encoder_path(cfg.encoder)
        if path.startswith((".", "/", "~")) and not Path(path).expanduser().exists():
            raise UserError(f"encoder path does not exist: {path} (or pass --no-semantic-check)")
    sizes = {"bank": cfg.bank_size, "train": cfg.train_size, "rl": cfg.rl_size, "dev": cfg.dev_size, "test": cfg.test_size}
    semantic = cfg.encoder if cfg.semantic_check else None
    if cfg.source is not None or cfg.split_sources():
        from trainer.data.build import build_from_sources

        pooled = None if cfg.source is None else SourceSpec(source=cfg.source, split=cfg.split, subset=cfg.subset,
                                                             format=cfg.format, columns=cfg.columns)
        manifest = build_from_sources(out, pooled, cfg.split_sources(), sizes, cfg.seed, semantic, cfg.k,
                                      cfg.identity())
    else:
        manifest = build_dataset(out, cfg.seed, sizes, semantic, cfg.k, cfg.identity(), show_progress=True,
                                 rl_wordings=cfg.rl_wordings)
    _print_summary(manifest, out)
    return 0
