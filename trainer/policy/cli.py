"""`rarft init-policy`: build (or load) the policy, SFT-warm-start it, measure it, save it in HF format.

The output dir is a normal Hugging Face model folder (AutoModelForCausalLM + AutoTokenizer with its chat
template) plus `rarft_policy.json`. A rerun whose config and data checksum match an existing output reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from shared.artifacts import atomic_dir, atomic_write_text, read_manifest_or_none, sha256_file
from shared.config import CommandConfig, parse_command
from shared.devices import DEVICE_HELP, DTYPE_HELP, Dtype, resolve_dtype, training_precision
from shared.contract import Demonstration
from shared.errors import UserError
from shared.manifests import PolicyManifest
from shared.rows import read_split
from trainer.data.strategies import WORDINGS
from trainer.reporting import LOGS_DIR, REPORT_TO_HELP, keep_tensorboard_logs, report_to_arg

log = logging.getLogger(__name__)

POLICY_MANIFEST = "rarft_policy.json"
SPLITS = ("bank", "train", "dev")  # the warm start reads bank + train and is measured on dev, never on test
EMBEDDED_BASE = "embedded:tiny-qwen3"


class InitPolicyConfig(CommandConfig):
    """Build the embedded tiny Qwen3 policy (or load any HF model) and warm-start it by SFT."""

    data: Path = Field(description="benchmark dir with bank.jsonl, train.jsonl, dev.jsonl (from `rarft data`)")
    out: Path = Field(description="output dir: HF model folder + rarft_policy.json")
    base_model: str | None = Field(default=None, description="pretrained model to warm-start instead of building the tiny "
                                   "Qwen3: an embedded one (smollm2-135m-instruct, from the '.[real]' extra), an HF "
                                   "folder or a hub id (e.g. Qwen/Qwen3-1.7B)")
    seed: int = Field(default=0, description="seed for the tokenizer corpus order, init, SFT mixture and evaluation")
    # tokenizer + model shape (embedded policy only)
    vocab_size: int = Field(default=1024, ge=300, description="BPE vocabulary size of the embedded tokenizer")
    number_tokens: int = Field(default=200, ge=0, le=10000, description="add the numbers 0..N-1 as whole tokens to the embedded "
                               "tokenizer (0: one token per digit); the benchmark's steps copy numbers, which a tiny model "
                               "does better one token at a time (docs/policy.md)")
    hidden_size: int = Field(default=256, ge=16, description="embedded model width")
    num_hidden_layers: int = Field(default=2, ge=1, description="embedded model blocks (2 wide rather than 4 narrow: docs/policy.md)")
    num_attention_heads: int = Field(default=4, ge=1, description="embedded model query heads")
    num_key_value_heads: int = Field(default=2, ge=1, description="embedded model key/value heads")
    intermediate_size: int = Field(default=768, ge=16, description="embedded model SwiGLU width")
    max_position_embeddings: int = Field(default=1024, ge=64, description="embedded model context length")
    # SFT mixture
    mix_none: float = Field(default=0.3, ge=0, description="share of SFT examples with no demonstration")
    mix_same: float = Field(default=0.55, ge=0, description="share with same-strategy bank demonstrations")
    mix_other: float = Field(default=0.15, ge=0, description="share with other-strategy bank demonstrations")
    max_demos: int = Field(default=3, ge=1, description="demonstrations per demonstrated SFT example: 1..max_demos")
    demo_loss: bool = Field(default=True, description="also put the SFT loss on the demonstrations' worked solutions in the prompt "
                            "(novel-wording ones only with --novel-wordings include): ~2x the supervised tokens per forward pass")
    epochs: int = Field(default=5, ge=1, description="passes over the train split, each with fresh demonstration draws "
                        "(5 chosen on dev: docs/policy.md)")
    max_steps: int = Field(default=-1, description="stop SFT after this many optimizer steps (-1: all epochs)")
    learning_rate: float | None = Field(default=None, gt=0, description="peak SFT learning rate (cosine schedule); default "
                                        "3e-3 for the embedded policy trained from scratch, 2e-4 for a --base-model "
                                        "(LoRA or full)")
    lora_rank: int = Field(default=16, ge=0, description="--base-model only: LoRA rank of the adapter on every linear "
                           "layer, merged into the saved weights after SFT (0: full fine-tuning)")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA scaling numerator (the update is scaled by alpha/rank)")
    batch_size: int = Field(default=8, ge=1, description="SFT examples per optimizer step (small batches: more steps per CPU second)")
    warmup_steps: int = Field(default=30, ge=0, description="linear warmup steps")
    weight_decay: float = Field(default=0.01, ge=0, description="AdamW weight decay")
    max_length: int = Field(default=1024, ge=32, description="SFT sequence length limit (prompt + completion)")
    train_limit: int | None = Field(default=None, ge=1, description="use only the first N train rows (quick runs)")
    novel_wordings: Literal["exclude", "with-demos", "include"] = Field(
        default="with-demos", description="train rows the benchmark marks as novel wordings (metadata wording='novel'): "
        "'with-demos' warm-starts on them only next to same-strategy demonstrations (twice the SFT rows of 'exclude'; "
        "docs/policy.md), 'exclude' holds them out, 'include' treats them like the rest. "
        "Rows without the mark (real data) are always used")
    # evaluation
    eval_limit: int | None = Field(default=None, ge=1, description="evaluate on the first N dev rows (default: all)")
    eval_num_demos: int = Field(default=1, ge=1, description="demonstrations shown in the random / same-strategy conditions")
    max_new_tokens: int = Field(default=160, ge=8, description="greedy completion length limit in evaluation")
    eval_batch_size: int = Field(default=64, ge=1, description="prompts per generation batch")
    skip_eval: bool = Field(default=False, description="skip the three accuracies (manifest records none)")
    num_threads: int | None = Field(default=None, ge=1, description="torch CPU threads (default: torch's choice, as label, "
                                    "distill and train); fewer on an oversubscribed box")
    device: str = Field(default="auto", description=DEVICE_HELP)
    dtype: Dtype = Field(default="auto", description=DTYPE_HELP + "; SFT keeps fp32 weights, bf16/fp16 is mixed precision")
    overwrite: bool = Field(default=False, description="rebuild even when a matching policy exists at --out")
    report_to: list[str] = Field(default=["tensorboard"], description=REPORT_TO_HELP)
    progress: bool = Field(default=True, description="show progress bars")

    @property
    def peak_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-4 if self.base_model else 3e-3

    @property
    def uses_lora(self) -> bool:
        return bool(self.base_model) and self.lora_rank > 0

    def fingerprint(self) -> dict[str, Any]:
        """The fields that decide the result (not where it goes, runs or how it is displayed); mixed precision is
        recorded when used, so an fp32 policy keeps the fingerprint it had before --dtype existed."""
        out = self.model_dump(mode="json", exclude={"data", "out", "overwrite", "progress", "num_threads", "device", "dtype",
                                                    "report_to"})
        precision = resolve_dtype(self.dtype, self.device)
        if precision != "fp32":
            out["precision"] = precision
        return out


def data_checksum(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in SPLITS:
        digest.update(f"{name}:{sha256_file(data_dir / f'{name}.jsonl')}\n".encode())
    return digest.hexdigest()


def existing_manifest(out: Path) -> PolicyManifest | None:
    return read_manifest_or_none(out / POLICY_MANIFEST, PolicyManifest)


def load_base(name: str):
    """A pretrained base model (embedded name, HF folder or hub id) for full or LoRA fine-tuning, in train mode."""
    from trainer.policy.loading import load_policy

    model, tokenizer = load_policy(name, device="cpu", dtype="fp32", flag="--base-model")  # fp32 master weights; the trainer places them
    return model.train(), tokenizer


def build_embedded(cfg: InitPolicyConfig, rows: list[Demonstration]):
    from trainer.policy.model import TinyQwen3Spec, build_model
    from trainer.policy.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(rows, vocab_size=cfg.vocab_size, number_tokens=cfg.number_tokens)
    spec = TinyQwen3Spec(**{k: getattr(cfg, k) for k in TinyQwen3Spec.model_fields if k in InitPolicyConfig.model_fields})
    try:
        model = build_model(spec, tokenizer, seed=cfg.seed)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return model, tokenizer


def init_policy(cfg: InitPolicyConfig) -> PolicyManifest:
    """Build, warm-start, measure and save the policy; reuse a matching existing output."""
    if not cfg.data.is_dir():
        raise UserError(f"data dir not found: {cfg.data} (create it with `rarft data --out {cfg.data}`)")
    for split in SPLITS:
        if not (cfg.data / f"{split}.jsonl").is_file():
            raise UserError(f"{cfg.data / f'{split}.jsonl'} not found: --data must be a dir written by `rarft data`")
    checksum = data_checksum(cfg.data)
    old = existing_manifest(cfg.out)
    if old is not None and not cfg.overwrite and old.config == cfg.fingerprint() and old.data_checksum == checksum:
        print(f"reused existing policy at {cfg.out} (config and data checksum match; --overwrite to rebuild)")
        return old
    if cfg.out.exists() and old is None and any(cfg.out.iterdir()) and not cfg.overwrite:
        raise UserError(f"{cfg.out} exists and is not a policy dir; choose another --out or pass --overwrite")
    bank, train, dev = (read_split(cfg.data, s) for s in SPLITS)
    if cfg.train_limit:
        train = train[: cfg.train_limit]
    if cfg.eval_limit:
        dev = dev[: cfg.eval_limit]

    import torch

    threads = torch.get_num_threads()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    try:
        return _build_and_save(cfg, checksum, bank, train, dev)
    finally:
        torch.set_num_threads(threads)  # process-global: do not leak into the caller (e.g. a test session)


def _build_and_save(cfg: InitPolicyConfig, checksum: str, bank: list[Demonstration], train: list[Demonstration],
                    dev: list[Demonstration]) -> PolicyManifest:
    import torch

    from trainer.policy.accuracy import policy_accuracy
    from trainer.policy.model import num_parameters
    from trainer.policy.warmstart import (LoraSpec, Mixture, StrategyIndex, build_sft_examples, sft,
                                          warm_start_rows)

    torch.manual_seed(cfg.seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if cfg.base_model:
        model, tokenizer = load_base(cfg.base_model)
    else:
        model, tokenizer = build_embedded(cfg, bank + train)
    timings["build_s"] = time.perf_counter() - t0

    lora = LoraSpec(rank=cfg.lora_rank, alpha=cfg.lora_alpha) if cfg.uses_lora else None
    mixture = Mixture(none=cfg.mix_none, same=cfg.mix_same, other=cfg.mix_other)
    if not StrategyIndex(bank).labelled:
        print(f"the bank rows name no strategy: the warm start shows random bank demonstrations in place of same- and "
              f"other-strategy ones (mixture none={cfg.mix_none:g}, random={cfg.mix_same + cfg.mix_other:g}), and "
              f"dev accuracy is measured without the same-strategy condition", flush=True)
    sft_rows = warm_start_rows(train, cfg.novel_wordings)
    if not sft_rows:
        raise UserError("every train row is marked as a novel wording; pass --novel-wordings with-demos or include")
    if len(sft_rows) < len(train):
        log.info("warm start on %d of %d train rows (%d novel wordings held out)", len(sft_rows), len(train),
                 len(train) - len(sft_rows))
    examples = build_sft_examples(tokenizer, sft_rows, bank, mixture, cfg.epochs, cfg.max_demos, cfg.seed,
                                  novel_wordings=cfg.novel_wordings)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rarft-sft-") as work:  # lives until the save: it holds the SFT's logs
        model, metrics = sft(model, tokenizer, examples, Path(work), learning_rate=cfg.peak_learning_rate,
                             batch_size=cfg.batch_size, warmup_steps=cfg.warmup_steps, weight_decay=cfg.weight_decay,
                             max_length=cfg.max_length, seed=cfg.seed, max_steps=cfg.max_steps, progress=cfg.progress,
                             demo_loss=cfg.demo_loss, lora=lora, precision=training_precision(cfg.dtype, cfg.device),
                             report_to=report_to_arg(cfg.report_to))
        timings["sft_s"] = time.perf_counter() - t1

        accuracy: dict[str, float] = {}
        if not cfg.skip_eval:
            t2 = time.perf_counter()
            accuracy = policy_accuracy(model, tokenizer, dev, bank, seed=cfg.seed, num_demos=cfg.eval_num_demos,
                                       max_new_tokens=cfg.max_new_tokens, batch_size=cfg.eval_batch_size,
                                       progress=cfg.progress)
            timings["eval_s"] = time.perf_counter() - t2

        manifest = PolicyManifest(
            base=cfg.base_model or EMBEDDED_BASE,
            data_checksum=checksum,
            num_parameters=num_parameters(model),
            accuracy=accuracy,
            config=cfg.fingerprint(),
            training_metrics=metrics,
            timings={k: round(v, 1) for k, v in timings.items()},
            eval_size=len(dev),
            lora=lora.model_dump() if lora else None,
        )
        with atomic_dir(cfg.out, overwrite=True) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            keep_tensorboard_logs(Path(work), tmp / LOGS_DIR)
            atomic_write_text(tmp / POLICY_MANIFEST, manifest.model_dump_json(indent=2) + "\n")
    return manifest


def parse_args(argv: list[str] | None):
    """`rarft init-policy`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(InitPolicyConfig, argv, prog="rarft init-policy")


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    start = time.perf_counter()
    manifest = init_policy(cfg)
    acc = manifest.accuracy
    print(f"policy: {cfg.out}  base={manifest.base}  parameters={manifest.num_parameters:,}")
    if acc:
        n = manifest.eval_size
        from trainer.policy.accuracy import CONDITIONS

        conditions = [c for c in CONDITIONS if c in acc]
        gap = (f"  gap(same-none)={acc['same_strategy'] - acc['none']:+.3f}" if "same_strategy" in acc else "")
        print(f"dev accuracy (greedy{f', n={n}' if n else ''}): "
              + "  ".join(f"{c}={acc[c]:.3f}" for c in conditions) + gap)
        for wording in WORDINGS:
            if f"none/{wording}" in acc:
                print(f"  {wording} wordings: " + "  ".join(f"{c}={acc[f'{c}/{wording}']:.3f}" for c in conditions))
    print(json.dumps({"accuracy": acc, "wall_s": round(time.perf_counter() - start, 1)}))
    return 0
