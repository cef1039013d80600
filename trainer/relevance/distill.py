"""`rarft distill`: train a bi-encoder to reproduce the benefit ranking, then build a retriever version.

The student starts from the parent version's encoder (a sentence-transformers folder; the embedded MiniLM for
v0) and is trained with sentence-transformers' own `SentenceTransformerTrainer` on rows
(query, cand_0 .. cand_{N-1}, label = N teacher scores). Two loss variants are trained from the same start,
KL-only and KL + contrastive (trainer.relevance.losses); the one with the better validation score on held-out
queries (trainer.relevance.evaluators) becomes the new version, written by the one version store
(shared.versions.build_version) with the parent, the labels' checksum and both variants' metrics in its manifest.
The new version embeds its bank the way the parent does (the manifest's `document_text`).
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from shared.config import CommandConfig, parse_command, renamed
from shared.devices import DEVICE_HELP, DTYPE_HELP, Dtype, resolve_device, training_precision
from shared.documents import DocumentText, as_document
from shared.errors import UserError
from shared.versions.index import IndexType
from trainer.data.benchmark import EVAL_SPLITS
from trainer.reporting import LOGS_DIR, REPORT_TO_HELP, keep_tensorboard_logs, report_to_arg

logger = logging.getLogger(__name__)
VARIANTS = ("kl", "kl_contrastive")


class DistillConfig(CommandConfig):
    """Distil benefit labels into a sentence-transformers bi-encoder and write a new retriever version."""

    labels: Path = Field(description="label file written by `rarft label` (.jsonl or .parquet)")
    data: Path = Field(description="benchmark/problem directory holding the labelled queries' split and bank.jsonl")
    split: str = Field(default="train", description="split the labelled queries come from (as `rarft label --split`)")
    parent: Path = Field(description="parent retriever version dir (REGISTRY/v0): initial encoder and bank")
    out: Path = Field(description="new version dir to write (REGISTRY/v1); its folder name is the version name")
    variants: list[Literal["kl", "kl_contrastive"]] = Field(default=list(VARIANTS), description="loss variants to train and compare; the better one is kept")
    epochs: float = Field(default=2.0, gt=0, description="training epochs per variant")
    batch_size: int = Field(default=16, ge=2, description="queries per training batch (each carries its whole pool)")
    # 3e-5 at default sizes: a smaller step keeps more of MiniLM's general sense of a sentence; fewer steps need a
    # larger one (the quick preset's 120 queries use 1e-4). docs/relevance.md, the learning-rate table
    learning_rate: float = Field(default=3e-5, gt=0, description="AdamW learning rate")
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1, description="linear warm-up share of the steps")
    max_candidates: int = Field(default=8, ge=2, description="candidates per query used in training (best kept, rest sampled); bounds the cost per step")
    teacher_normalization: Literal["zscore", "none"] = Field(default="zscore", description="per-query z-score of benefits before the teacher softmax (scale-free) or raw benefits")
    # 0.25: a sharper teacher for opening-span labels (docs/relevance.md, the sweep table)
    teacher_temperature: float = Field(default=0.25, gt=0, description="τ_t of softmax(teacher / τ_t)")
    student_temperature: float = Field(default=0.05, gt=0, description="τ_s of softmax(cos / τ_s); 0.05 = the usual scale 20 of cosine losses")
    contrastive_weight: float = Field(default=1.0, ge=0, description="weight of the InfoNCE term in the kl_contrastive variant")
    val_fraction: float = Field(default=0.1, gt=0, lt=0.5, description="share of labelled queries held out for validation")
    eval_corpus_size: int = Field(default=500, ge=10, description="bank rows the validation strategy-match retrieves from (seeded subset)")
    k: int = Field(default=4, ge=1, description="cut-off of the validation @k metrics")
    index_type: IndexType = Field(default="flat", description="FAISS index of the new version")
    seed: int = Field(default=0, description="seed of the split, the candidate subsampling and training")
    num_threads: int | None = Field(default=None, ge=1, json_schema_extra=renamed("threads"), description="torch CPU threads (default: torch's choice)")
    overwrite: bool = Field(default=False, description="replace an existing version dir")
    device: str = Field(default="auto", description=DEVICE_HELP)
    dtype: Dtype = Field(default="auto", description=DTYPE_HELP + "; mixed precision on a GPU, the weights stay fp32")
    report_to: list[str] = Field(default=["tensorboard"], description=REPORT_TO_HELP + " (one run per variant)")
    progress: bool = Field(default=True, description="show progress bars")

    @field_validator("split")
    @classmethod
    def _not_held_out(cls, split: str) -> str:
        if split in EVAL_SPLITS:
            raise ValueError(f"the {split} split is held out: a retriever distilled on its queries would have seen them")
        return split


def _teacher(benefits: list[float], how: str) -> list[float]:
    if how == "none":
        return list(benefits)
    m = sum(benefits) / len(benefits)
    sd = (sum((b - m) ** 2 for b in benefits) / len(benefits)) ** 0.5
    return [(b - m) / sd if sd > 1e-12 else 0.0 for b in benefits]


def build_rows(groups: dict[str, list[dict]], queries: dict, candidates: dict, cfg: DistillConfig,
               document_text: DocumentText = "problem") -> list[dict[str, Any]]:
    """One training row per query: best candidate first (the contrastive positive), then a seeded sample. Candidates
    are the documents the version embeds (`document_text`), so the student learns on what it will index."""
    n = min(cfg.max_candidates, min(len(g) for g in groups.values()))
    rows = []
    for qid in sorted(groups):
        group = sorted(groups[qid], key=lambda r: -r["benefit"])
        rng = random.Random(f"{cfg.seed}:{qid}")
        keep = [group[0]] + rng.sample(group[1:], n - 1)
        keep = [keep[0]] + sorted(keep[1:], key=lambda r: -r["benefit"])
        row: dict[str, Any] = {"query": queries[qid].problem}
        for i, r in enumerate(keep):
            row[f"cand_{i}"] = as_document(candidates[r["candidate_id"]], document_text)
        row["label"] = _teacher([r["benefit"] for r in keep], cfg.teacher_normalization)
        rows.append(row)
    return rows


def _train_variant(variant: str, parent_encoder: Path, train_rows: list[dict], evaluator, cfg: DistillConfig,
                   workdir: Path) -> tuple[Any, dict[str, float]]:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    from shared.models import load_encoder
    from trainer.relevance.losses import KLPlusContrastiveLoss, kl_loss

    model = load_encoder(str(parent_encoder), device=resolve_device(cfg.device))
    if variant == "kl":
        loss = kl_loss(model, cfg.student_temperature, cfg.teacher_temperature)
    else:
        loss = KLPlusContrastiveLoss(model, cfg.student_temperature, cfg.teacher_temperature,
                                     contrastive_weight=cfg.contrastive_weight)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(workdir / variant), num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_ratio,  # < 1: a share of the steps (transformers v5)
        seed=cfg.seed, data_seed=cfg.seed,
        eval_strategy="epoch", save_strategy="no", logging_strategy="epoch",
        report_to=report_to_arg(cfg.report_to),
        **training_precision(cfg.dtype, cfg.device),
        disable_tqdm=not cfg.progress, dataloader_num_workers=0,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=Dataset.from_list(train_rows),
                                         loss=loss, evaluator=evaluator)
    started = time.perf_counter()
    result = trainer.train()
    metrics = {"train/loss": float(result.training_loss), "train/seconds": time.perf_counter() - started,
               "train/steps": float(result.global_step)}
    metrics.update({f"val/{k.removeprefix('val_')}": float(v) for k, v in evaluator(model).items()})
    history = [{k: v for k, v in h.items() if isinstance(v, (int, float))} for h in trainer.state.log_history]
    metrics["history"] = history  # type: ignore[assignment]
    return model, metrics


def run_distill(cfg: DistillConfig) -> dict[str, Any]:
    """Validate the labels, train each variant, keep the better, build and return the new version's manifest."""
    import torch

    from shared.artifacts import sha256_file
    from shared.rows import by_id, read_rows, read_split
    from shared.versions import BANK_FILE, build_version, load_version, open_version_dir
    from trainer.relevance.evaluators import RelevanceEvaluator
    from trainer.relevance.labels import group_by_query, read_labels

    if cfg.out.exists() and not cfg.overwrite:
        raise UserError(f"{cfg.out} already exists; pass --overwrite or choose another version name")
    if cfg.out.resolve() == cfg.parent.resolve():
        raise UserError("--out must differ from --parent")
    from shared.contract import check_version_name

    try:
        check_version_name(cfg.out.name)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)

    # Validate everything cheap first: bad labels fail before an encoder is loaded or anything is written.
    parent_dir = open_version_dir(cfg.parent)
    parent_rows = read_rows(parent_dir / BANK_FILE)
    queries = by_id(read_split(cfg.data, cfg.split), f"{cfg.split} split")
    candidates = {**by_id(read_split(cfg.data, "bank"), "bank"), **by_id(parent_rows, f"bank of {cfg.parent}")}
    groups = group_by_query(read_labels(cfg.labels), set(queries), set(candidates), source=str(cfg.labels),
                            query_split=cfg.split)
    labels_checksum = sha256_file(cfg.labels)
    parent = load_version(parent_dir, device=resolve_device(cfg.device))

    qids = sorted(groups)
    random.Random(cfg.seed).shuffle(qids)
    n_val = max(1, round(len(qids) * cfg.val_fraction)) if len(qids) >= 4 else 0
    if n_val == 0:
        raise UserError(f"{len(qids)} labelled queries are too few to hold some out for validation; label at least 4")
    val_ids, train_ids = sorted(qids[:n_val]), qids[n_val:]
    # the student embeds the bank the way its parent does (the manifest's document_text)
    train_rows = build_rows({q: groups[q] for q in train_ids}, queries, candidates, cfg, parent.manifest.document_text)
    corpus = list(parent.bank)
    if len(corpus) > cfg.eval_corpus_size:
        corpus = random.Random(cfg.seed).sample(corpus, cfg.eval_corpus_size)
    pools = {q: ([parent.document(candidates[r["candidate_id"]]) for r in groups[q]], [r["benefit"] for r in groups[q]])
             for q in val_ids}
    evaluator = RelevanceEvaluator([queries[q] for q in val_ids], corpus, pools, k=cfg.k, name="val",
                                   document_text=parent.manifest.document_text)
    primary = evaluator.primary_metric

    encoder_dir = parent.encoder_dir
    parent_metrics = {f"val/{k}": v for k, v in evaluator.compute(parent.encoder).items()}
    print(f"parent {parent.name}: val {primary} = {parent_metrics[f'val/{primary}']:.3f}")
    print(f"training on {len(train_rows)} queries x {len(train_rows[0]) - 2} candidates, validating on {len(val_ids)}")
    results: dict[str, dict] = {}
    models: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rarft-distill-") as work_name:  # until the version holds its logs
        work = Path(work_name)
        for variant in cfg.variants:
            model, metrics = _train_variant(variant, encoder_dir, train_rows, evaluator, cfg, work)
            results[variant], models[variant] = metrics, model
            print(f"  {variant:>15}: val {primary} = {metrics[f'val/{primary}']:.3f}, "
                  f"ndcg@{cfg.k} = {metrics.get(f'val/ndcg@{cfg.k}', float('nan')):.3f} "
                  f"({metrics['train/seconds']:.0f} s)")
        best = max(cfg.variants, key=lambda v: results[v][f"val/{primary}"])
        training_metrics: dict[str, Any] = {
            "selected_variant": best, "primary_metric": f"val/{primary}",
            "parent": parent_metrics, "variants": results,
            **{k: v for k, v in results[best].items() if k != "history"},
            "config": cfg.model_dump(mode="json"), "num_train_queries": len(train_ids), "num_val_queries": len(val_ids),
        }
        manifest = build_version(models[best], parent.bank, cfg.out, index_type=cfg.index_type,
                                 parent_version=parent.name, labels_checksum=labels_checksum,
                                 training_metrics=training_metrics, overwrite=cfg.overwrite, show_progress=cfg.progress,
                                 device=cfg.device, document_text=parent.manifest.document_text)
        for variant in cfg.variants:  # outside the version's checksummed files: the service never reads them
            keep_tensorboard_logs(work / variant, cfg.out / LOGS_DIR / variant)
    print(f"kept {best}; wrote version {manifest.name} to {cfg.out} (parent {parent.name}, labels {labels_checksum[:16]})")
    return manifest.model_dump()


def parse_args(argv: list[str] | None):
    """`rarft distill`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(DistillConfig, argv, prog="rarft distill")


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    run_distill(cfg)
    return 0
