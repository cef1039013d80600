"""`--device` and `--dtype` of every command that loads a model: one resolution, so `auto` means the same everywhere.

`auto` picks a GPU when torch sees one (bf16 where it is supported, else fp16) and the CPU in fp32 otherwise, so the
embedded default on a laptop runs exactly as before and a GPU box needs no flag. torch is imported only to resolve.
"""

from __future__ import annotations

from typing import Literal

from shared.errors import UserError

Dtype = Literal["auto", "bf16", "fp16", "fp32"]
DEVICE_HELP = "torch device: auto (a GPU when there is one, else the CPU), cpu, cuda or cuda:N"
DTYPE_HELP = "precision: auto (bf16 on a bf16-capable GPU, fp16 on another GPU, fp32 on the CPU), bf16, fp16 or fp32"
TORCH_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def resolve_device(device: str, flag: str = "--device") -> str:
    """`auto` -> cuda or cpu; a CUDA device asked for on a machine without one is a UserError, not a torch trace."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"{flag} {device}: torch sees no CUDA device here; use {flag} auto or cpu")
    return device


def resolve_dtype(dtype: str, device: str) -> Literal["bf16", "fp16", "fp32"]:
    """`auto` by device: bf16 where the GPU supports it, fp16 on older GPUs, fp32 on the CPU (bf16 there is slow)."""
    if dtype != "auto":
        return dtype  # type: ignore[return-value]
    if not resolve_device(device).startswith("cuda"):
        return "fp32"
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def torch_dtype(dtype: str, device: str):
    import torch

    return getattr(torch, TORCH_NAMES[resolve_dtype(dtype, device)])


def training_precision(dtype: str, device: str) -> dict[str, bool]:
    """TrainingArguments fields for a device and precision: the weights stay fp32, bf16/fp16 is mixed precision."""
    resolved = resolve_device(device)
    precision = resolve_dtype(dtype, resolved)
    if precision != "fp32" and not resolved.startswith("cuda"):
        raise UserError(f"--dtype {dtype}: mixed-precision training needs a GPU here; use --dtype fp32 (or auto) on the CPU")
    return {"use_cpu": resolved == "cpu", "bf16": precision == "bf16", "fp16": precision == "fp16"}
