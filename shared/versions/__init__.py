"""The one retriever-version store both sides use: on-disk layout, manifest read-and-verify, build, and search.

A version is a directory `REGISTRY/NAME/` holding `encoder/` (a sentence-transformers folder), `index.faiss`,
`bank.jsonl` and `manifest.json` (a RetrieverManifest with the sha256 of every file). The service loads versions
through `load_version` and adds warm-up, the memory budget and hot swap on top (retrieval_service.registry);
labelling, distillation and retriever evaluation search the same object in process. FAISS, torch and
sentence-transformers are imported only when a version is built or loaded.
"""

from shared.versions.build import build_version
from shared.versions.layout import (
    BANK_FILE,
    ENCODER_DIR,
    INDEX_FILE,
    REQUIRED_FILES,
    VersionError,
    VersionNotFound,
    discover,
    open_version_dir,
    read_manifest,
    version_dir,
)
from shared.versions.loaded import LoadedVersion, load_version, select

__all__ = [
    "BANK_FILE", "ENCODER_DIR", "INDEX_FILE", "REQUIRED_FILES", "LoadedVersion", "VersionError", "VersionNotFound",
    "build_version", "discover", "load_version", "open_version_dir", "read_manifest", "select",
    "version_dir",
]
