"""`rarft`: one entry point, one subcommand per job (as `git` and `trl` do).

Subcommands are looked up lazily by module path, so `rarft --help` imports nothing heavy and the service
image (which lacks the trainer extra) can still run `rarft serve`.
"""

from __future__ import annotations

import importlib
import logging
import sys

from shared.errors import UserError

# name -> ("module:function", one-line help). Each function takes argv (list[str]) and returns an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("trainer.data.cli:main", "build the embedded analogy benchmark (bank/train/test splits)"),
    "init-policy": ("trainer.policy.cli:main", "build the tiny Qwen3 policy (or take a pretrained one) and SFT-warm-start it"),
    "build-retriever": ("retrieval_service.build:main", "embed a bank and write a retriever version"),
    "serve": ("retrieval_service.cli:main", "serve the retriever registry over HTTP"),
    "deploy": ("retrieval_service.deploy:main", "load / split / promote / rollback versions on a running service"),
    "train": ("trainer.grpo.cli:main", "GRPO / RA-RFT training with retrieval at rollout time"),
    "label": ("trainer.relevance.labeling:main", "gold-relevance labels: reasoning benefit of each candidate"),
    "distill": ("trainer.relevance.distill:main", "distil benefit labels into a bi-encoder retriever version"),
    "eval-retriever": ("trainer.relevance.retriever_eval:main", "strategy-match@k, nDCG@k, diversity of a version"),
    "eval": ("trainer.evaluation.cli:main", "average@k / pass@k of a policy, with or without retrieval"),
    "experiment": ("trainer.experiment.cli:main", "the whole study end to end, to a report (main job)"),
}


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items())
    return (
        "usage: rarft <command> [options]\n\n"
        "Retrieval-Augmented Reinforcement Fine-Tuning.\n\ncommands:\n"
        f"{rows}\n\nRun `rarft <command> --help` for a command's options. Every option can also be set with a\n"
        "RARFT_<COMMAND>_<OPTION> environment variable (RARFT_EVAL_K=32; `serve` reads RARFT_<SETTING>) or in a\n"
        "YAML/JSON file given with --config. Precedence: command line > env > file > default."
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from shared import __version__

        print(f"rarft {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"rarft: unknown command '{name}'\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except ModuleNotFoundError as exc:
        print(f"rarft {name}: missing dependency '{exc.name}'. Install the extra that provides it, e.g. "
              "`pip install 'ra-rft[trainer,service]'`.", file=sys.stderr)
        return 2
    try:
        return int(func(rest) or 0)
    except UserError as exc:
        print(f"rarft {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rarft {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
