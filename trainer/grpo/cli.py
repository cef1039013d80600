"""`rarft train`: GRPO / RA-RFT training.

Options are RARFTConfig's fields, parsed by TRL's own parser, so every GRPOConfig / TrainingArguments flag works
(`--max-steps`, `--learning-rate`, `--use-vllm`, `--resume-from-checkpoint`, ...). `RARFT_TRAIN_<OPTION>` env vars
and `--config FILE.yaml` set any of them (command line > env > file). Example:

    rarft train --model runs/policy --train runs/data/rl.jsonl --retrieval-url http://127.0.0.1:8000 \\
        --output-dir runs/rarft --max-steps 20
"""

from __future__ import annotations

import dataclasses
import logging
import os
import typing
from pathlib import Path

from shared.config import env_flags, env_prefix, warn_unprefixed
from shared.errors import UserError

logger = logging.getLogger(__name__)


PROG = "rarft train"


def _type_hints(cls: type) -> dict:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference TRL's module does not resolve: fall back to the raw annotations
        return {}


def parse_args(argv: list[str]):
    from trl import TrlParser

    from trainer.grpo.config import RARFTConfig

    parser = TrlParser((RARFTConfig,), prog="rarft train", description=__doc__.split("\n\n")[0],
                       epilog=f"Every option is also the env var {env_prefix(PROG)}<OPTION> (e.g. "
                       f"{env_prefix(PROG)}MAX_STEPS). Precedence: command line > env > --config file > default.")
    fields = {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(RARFTConfig) if f.init
              for hints in [_type_hints(RARFTConfig)]}
    given = {a.lstrip("-").split("=")[0].replace("-", "_") for a in argv if a.startswith("--")}
    warn_unprefixed(fields, env_prefix(PROG), PROG, given=given)
    try:
        (config,) = parser.parse_args_and_config(env_flags(fields, PROG) + list(argv))
    except (ValueError, FileNotFoundError) as exc:  # __post_init__ checks, a missing --config file
        raise UserError(str(exc).strip().splitlines()[0]) from None
    return config


def check_paths(config) -> None:
    from trainer.policy.loading import check_policy

    if config.use_vllm:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise UserError("--use-vllm needs vLLM (GPU only): `pip install vllm`, or drop --use-vllm to generate "
                            "with transformers")
    if not config.model:
        raise UserError("--model is required: a policy dir from `rarft init-policy` or a hub id such as Qwen/Qwen3-1.7B")
    if not config.train_file:
        raise UserError("--train is required: a JSONL file of problems, e.g. DATA/rl.jsonl from `rarft data`")
    if not Path(config.train_file).is_file():
        raise UserError(f"training file not found: {config.train_file} (give --train DATA/rl.jsonl from `rarft data`)")
    config.model = check_policy(config.model)
    resume = config.resume_from_checkpoint
    if resume and resume not in ("True", "true", "last") and not Path(resume).is_dir():
        raise UserError(f"--resume-from-checkpoint {resume}: no such checkpoint directory")


def main(argv: list[str]) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    config = parse_args(argv)
    check_paths(config)

    from transformers.trainer_utils import get_last_checkpoint

    from trainer.grpo.dataset import train_dataset
    from trainer.grpo.retrieval import RetrievalFailed
    from trainer.grpo.trainer import RARFTTrainer
    from trainer.policy.loading import load_tokenizer

    tokenizer = load_tokenizer(config.model)
    dataset = train_dataset(config.train_file, tokenizer, config.chat_template_kwargs)
    resume = config.resume_from_checkpoint
    if resume in ("True", "true", "last"):
        resume = get_last_checkpoint(config.output_dir)
        if resume is None:
            raise UserError(f"--resume-from-checkpoint last: no checkpoint in {config.output_dir}")
    trainer = RARFTTrainer(model=config.model, args=config, train_dataset=dataset, processing_class=tokenizer)
    mode = f"RA-RFT with retrieval from {config.retrieval_url}" if config.retrieval_url else "plain GRPO"
    logger.info("training %s on %d problems (%s)", config.model, len(dataset), mode)
    try:
        trainer.train(resume_from_checkpoint=resume)
    except RetrievalFailed as exc:
        raise UserError(str(exc)) from None
    finally:
        trainer.retrieval.close()
    trainer.save_model(config.output_dir)
    trainer.save_state()  # trainer_state.json beside the final model: reward curves without a checkpoint
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(config.output_dir)
    logger.info("saved the policy to %s (degraded batches: %d)", config.output_dir, trainer.degraded_total)
    return 0
