"""The study's plan: which arms, conditions, seeds and stages a preset makes, before anything runs.

The pipeline (trainer.experiment.pipeline) runs this plan; the ETA line and the tests read it without running it.
"""

from __future__ import annotations

from trainer.experiment.presets import Preset

V0, V1 = "v0", "v1"
# arm -> (retriever version pinned during training, evaluation conditions: None = no retrieval). The conditions are
# the ones the pre-registered comparisons read (trainer.experiment.comparisons), no more: every evaluation costs
# a minute or more of the quick preset's time.
ARMS: dict[str, tuple[str | None, list[str | None]]] = {
    "grpo": (None, [None, V1]),
    "semantic": (V0, [V0]),
    "ra-rft": (V1, [V1, V0]),
}
BASE = "base"  # the warm-started policy every arm starts from, evaluated exactly like them
BASE_CONDITIONS: list[str | None] = [None, V1]
TRAIN_PIN_FLAG = "retriever_version"  # `rarft train` option that pins a retriever version
EVAL_SEED_OFFSET = 1000  # the evaluation seed of training seed s is s + 1000: sampling never replays training's draws


def cond_name(version: str | None) -> str:
    return version or "none"


def base_eval_name(preset: Preset, seed: int) -> str:
    return f"{BASE}-s{seed}" if preset.vary_warm_start else BASE


def eval_seed(seed: int) -> int:
    return seed + EVAL_SEED_OFFSET


def warm_start_suffixes(preset: Preset) -> dict[int, str]:
    """seed -> the suffix of its warm start's stages and artifacts: '' for the one shared warm start."""
    return {seed: (f"-s{seed}" if preset.vary_warm_start else "") for seed in preset.seeds}


def round_suffix(suffix: str, round_: int) -> str:
    """Stage and artifact suffix of a warm start's distillation round: round 1 keeps the warm start's own."""
    return suffix if round_ == 1 else f"{suffix}-r{round_}"


def planned_stages(preset: Preset) -> list[tuple[str, float]]:
    b = preset.budget_s
    suffixes = list(dict.fromkeys(warm_start_suffixes(preset).values()))
    stages = [("data", b.get("data", 60))]
    stages += [(f"policy{x}", b.get("policy", 300)) for x in suffixes]
    stages += [("retriever-v0", b.get("retriever", 30)), ("service", b.get("service", 20))]
    for x in suffixes:
        for r in range(1, preset.distill_rounds + 1):
            rx = round_suffix(x, r)
            stages += [(f"label{rx}", b.get("label", 120)), (f"distill{rx}", b.get("distill", 120))]
        stages += [(f"deploy{x}", b.get("deploy", 10))]
    for seed in preset.seeds:
        stages += [(f"train-{arm}-s{seed}", b.get("train", 120)) for arm in preset.arms]
    base_seeds = preset.seeds if preset.vary_warm_start else preset.seeds[:1]
    stages += [(f"eval-{base_eval_name(preset, seed)}-{cond_name(c)}", b.get("eval", 60))
               for seed in base_seeds for c in BASE_CONDITIONS]
    for seed in preset.seeds:
        for arm in preset.arms:
            stages += [(f"eval-{arm}-s{seed}-{cond_name(c)}", b.get("eval", 60)) for c in ARMS[arm][1]]
    if preset.retriever_analysis:
        stages += [("analysis", b.get("analysis", 60))]
    stages += [("report", b.get("report", 10))]
    return stages
