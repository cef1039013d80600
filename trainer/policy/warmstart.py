"""Supervised warm start: teach the policy the answer format and to *use* a demonstration, not to need one.

Each training problem appears `epochs` times, each time with a fresh context drawn from a mixture:
no demonstration, same-strategy demonstrations from the bank, or other-strategy ("unrelated") ones.
The same-strategy share teaches the policy to copy a demonstration's procedure; the no-demonstration and
unrelated shares keep it able to solve alone. The aim is a policy clearly better with a matching demonstration,
the gap RA-RFT's retriever can exploit; on the embedded benchmark that gap is not there yet (docs/policy.md).

The examples are prompt-completion pairs in the exact format of trainer.prompting (render_prompt +
format_completion + EOS), trained with TRL's SFTTrainer with the loss on the completion and, by default, on the
demonstrations' worked solutions in the prompt: each is a solved problem too, so one forward pass teaches up to
four solutions instead of one (docs/policy.md has what that bought on the embedded policy).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contract import Demonstration
from shared.errors import UserError
from shared.text import problem_hash
from trainer.prompting import SOLUTION_PREFIX, format_completion, render_prompt


class Mixture(BaseModel):
    """Shares of demonstration contexts in the SFT data (normalised; they need not sum to 1)."""

    model_config = ConfigDict(extra="forbid")

    none: float = Field(default=0.3, ge=0, description="share of examples with no demonstration")
    same: float = Field(default=0.55, ge=0, description="share with same-strategy demonstrations")
    other: float = Field(default=0.15, ge=0, description="share with other-strategy (unrelated) demonstrations")

    @model_validator(mode="after")
    def _positive(self) -> Mixture:
        if self.none + self.same + self.other <= 0:
            raise ValueError("at least one mixture share must be > 0")
        return self


class LoraSpec(BaseModel):
    """A LoRA adapter on every linear layer of a pretrained base: on CPU it trains a few MB instead of the whole
    model, and it is merged into the weights afterwards, so the saved policy is a plain model every stage loads."""

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"

    def peft_config(self) -> Any:
        try:
            from peft import LoraConfig
        except ImportError:
            raise UserError("LoRA needs peft: pip install '.[real]' (or pip install peft), or pass --lora-rank 0 "
                            "for full fine-tuning") from None
        return LoraConfig(r=self.rank, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=self.target_modules, task_type="CAUSAL_LM")


class StrategyIndex:
    """Bank rows by strategy, for drawing same- or other-strategy demonstrations for a problem."""

    def __init__(self, bank: Sequence[Demonstration]):
        self.bank = list(bank)
        self.by_strategy: dict[str, list[Demonstration]] = defaultdict(list)
        for row in self.bank:
            self.by_strategy[row.strategy or ""].append(row)

    @property
    def labelled(self) -> bool:
        """Whether any bank row names its strategy; real corpora (GSM8K, MATH) usually do not, and then 'same' and
        'other' mean nothing: every row would share the empty strategy."""
        return any(self.by_strategy.keys() - {""})

    def draw(self, rng: random.Random, row: Demonstration, kind: str, k: int) -> list[Demonstration]:
        """`k` demonstrations of `kind` ('same', 'other' or 'random'), never the row itself or its twin text."""
        if kind in ("same", "other") and not self.labelled:
            raise ValueError(f"{kind!r}-strategy demonstrations need strategy labels on the bank rows")
        if kind == "same":
            pool = self.by_strategy.get(row.strategy or "", [])
        elif kind == "other":
            pool = [d for s, rows in self.by_strategy.items() if s != (row.strategy or "") for d in rows]
        elif kind == "random":
            pool = self.bank
        else:
            raise ValueError(f"unknown demonstration kind {kind!r}")
        own = problem_hash(row.problem)
        picked: list[Demonstration] = []
        for _ in range(8 * k):  # rejection sampling: the pool is large and collisions are rare
            if len(picked) == k or not pool:
                break
            d = pool[rng.randrange(len(pool))]
            if d.id != row.id and d not in picked and problem_hash(d.problem) != own:
                picked.append(d)
        return picked


NovelWordings = Literal["exclude", "with-demos", "include"]


def is_novel_wording(row: Demonstration) -> bool:
    """A row the benchmark marks as a held-out wording (`metadata.wording == 'novel'`); real data never is."""
    return row.metadata.get("wording") == "novel"


def warm_start_rows(train: Sequence[Demonstration], novel_wordings: NovelWordings) -> list[Demonstration]:
    """The train rows the warm start learns from: all of them, or with 'exclude' all but the novel wordings, which
    the policy must then solve from a demonstration."""
    return [r for r in train if not is_novel_wording(r)] if novel_wordings == "exclude" else list(train)


def mixture_kinds(mixture: Mixture, labelled: bool) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The demonstration kinds drawn and their weights. Without strategy labels the same- and other-strategy shares
    become one 'random' share (a random bank demonstration), named as what it is."""
    if labelled:
        return ("none", "same", "other"), (mixture.none, mixture.same, mixture.other)
    return ("none", "random"), (mixture.none, mixture.same + mixture.other)


def build_sft_examples(tokenizer: Any, train: Sequence[Demonstration], bank: Sequence[Demonstration],
                       mixture: Mixture, epochs: int, max_demos: int, seed: int,
                       novel_wordings: NovelWordings = "exclude") -> list[dict[str, Any]]:
    """Prompt-completion rows: `epochs` passes over train, each with freshly drawn demonstration contexts.

    With 'with-demos' a novel-wording row always gets same-strategy demonstrations: its wording is learned only next
    to a worked example of its procedure. `demo_solutions` lists the demonstrations whose solutions may carry loss
    (see `loss_spans`): novel-wording demonstrations only with 'include', so unless novel wordings are fully
    included the warm start never learns one as a standalone problem from its context."""
    rng = random.Random(seed)
    index = StrategyIndex(bank)
    kinds, weights = mixture_kinds(mixture, index.labelled)
    examples = []
    for _ in range(epochs):
        for row in train:
            kind = rng.choices(kinds, weights)[0]
            if novel_wordings == "with-demos" and is_novel_wording(row) and index.labelled:
                kind = "same"
            demos = [] if kind == "none" else index.draw(rng, row, kind, rng.randint(1, max_demos))
            examples.append({
                "prompt": render_prompt(tokenizer, row.problem, demos),
                "completion": format_completion(row.solution, row.answer) + tokenizer.eos_token,
                "kind": kind,
                "id": row.id,
                "demo_solutions": [format_completion(d.solution, d.answer) for d in demos
                                   if novel_wordings == "include" or not is_novel_wording(d)],
            })
    rng.shuffle(examples)
    return examples


def loss_spans(example: dict[str, Any], demo_loss: bool) -> list[tuple[int, int]]:
    """Character spans of prompt + completion that carry the loss: the completion, and with `demo_loss` also each
    demonstration's worked solution in the prompt (the same problem -> solution skill, supervised for free)."""
    prompt = example["prompt"]
    spans = [(len(prompt), len(prompt) + len(example["completion"]))]
    if demo_loss:
        start = 0
        for solution in example.get("demo_solutions", []):
            at = prompt.find(SOLUTION_PREFIX + solution, start)
            if at < 0:
                raise ValueError(f"demonstration solution not found in the prompt of example {example.get('id')}")
            at += len(SOLUTION_PREFIX)
            spans.append((at, at + len(solution)))
            start = at + len(solution)
    return spans


def tokenize_with_loss_mask(tokenizer: Any, example: dict[str, Any], demo_loss: bool) -> dict[str, list[int]]:
    """input_ids plus a `completion_mask` that is 1 on every token inside a loss span (TRL's pre-tokenized format)."""
    text = example["prompt"] + example["completion"]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = loss_spans(example, demo_loss)
    # overlap, not containment: BPE may merge a span's first character with the text before it (": \\gcd")
    mask = [int(end > start and any(start < b and a < end for a, b in spans)) for start, end in enc["offset_mapping"]]
    return {"input_ids": enc["input_ids"], "completion_mask": mask}


def sft(model: Any, tokenizer: Any, examples: list[dict[str, Any]], work_dir: Path, *, learning_rate: float,
        batch_size: int, warmup_steps: int, weight_decay: float, max_length: int, seed: int,
        max_steps: int = -1, progress: bool = True, demo_loss: bool = False,
        lora: LoraSpec | None = None, precision: dict[str, bool] | None = None,
        report_to: str | list[str] = "none") -> tuple[Any, dict[str, float]]:
    """One pass of TRL SFTTrainer over the prepared examples (loss on the completion, and with `demo_loss` on the
    demonstrations' solutions too); returns the trained model (a LoRA adapter merged in) and train metrics.
    `precision`: TrainingArguments' use_cpu/bf16/fp16 (shared.devices.training_precision); default the CPU in fp32.
    `report_to`: TrainingArguments' loggers; TensorBoard writes under `work_dir/runs/`."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(work_dir),
        num_train_epochs=1,  # the examples already hold `epochs` passes with fresh demonstration draws
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        max_length=max_length,
        completion_only_loss=True,
        train_sampling_strategy="group_by_length",  # similar lengths per batch: far less padding on CPU
        logging_steps=25,
        save_strategy="no",
        report_to=report_to,
        **(precision or {"use_cpu": True, "bf16": False, "fp16": False}),
        seed=seed,
        data_seed=seed,
        disable_tqdm=not progress,
        dataset_num_proc=None,
    )
    dataset = Dataset.from_list([tokenize_with_loss_mask(tokenizer, e, demo_loss) for e in examples])
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=lora.peft_config() if lora else None)
    result = trainer.train()
    trained = trainer.model.merge_and_unload() if lora else trainer.model
    history = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return trained, {
        "train/loss": float(result.training_loss),
        "train/final_loss": float(history[-1]) if history else float(result.training_loss),
        "train/steps": float(trainer.state.global_step),
        "train/examples": float(len(examples)),
        "train/runtime_s": float(result.metrics.get("train_runtime", 0.0)),
    }
