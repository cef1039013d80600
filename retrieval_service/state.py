"""The running service: loaded versions, the A/B split, feedback, metrics, the batcher and the watcher.

Loaded versions live in a dict that is replaced (never mutated) under a lock, so a swap is one atomic
reference change; a request holds the `LoadedVersion` it picked and finishes on it even if the version
is unloaded meanwhile. Loads run in a dedicated, low-priority thread while the current split serves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.contract import VersionInfo, VersionsResponse

from retrieval_service.ab import ABRouter, FeedbackBoard
from retrieval_service.batching import MicroBatcher
from retrieval_service.metrics import Metrics
from retrieval_service.registry import (
    LoadedVersion,
    MemoryBudgetExceeded,
    NotReady,
    VersionConflict,
    VersionError,
    VersionNotFound,
    discover,
    estimate_bytes,
    load_version,
    read_manifest,
    version_dir,
)
from retrieval_service.settings import Settings

logger = logging.getLogger(__name__)


def _lower_priority(niceness: int) -> None:
    """Loader thread initialiser: checksum/parse/warm-up yield the CPU to request threads (Linux per-thread nice)."""
    try:
        if niceness > 0:  # relative to the process's own niceness (setpriority sets an absolute value)
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except (AttributeError, OSError, PermissionError):
        pass


class ServiceState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Path(settings.registry)
        self.metrics = Metrics()
        self.ab = ABRouter()
        self.feedback = FeedbackBoard()
        self.versions: dict[str, LoadedVersion] = {}
        self.order: list[str] = []  # loaded names, newest first
        self.rejected: dict[str, str] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.RLock()
        self._loading: set[str] = set()
        self._reserved: dict[str, int] = {}  # memory promised to loads in progress
        self.pool = ThreadPoolExecutor(settings.thread_pool_size, thread_name_prefix="rarft-cpu")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="rarft-loader", initializer=_lower_priority,
                                         initargs=(settings.loader_nice,))
        self.batcher = MicroBatcher(self.pool, settings.batch_window_ms / 1000, settings.max_batch_queries,
                                    observe=self.metrics.batch_size.observe)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.batcher.start()
        names = self.settings.load_at_startup if self.settings.load_at_startup is not None else discover(self.registry)
        loop = asyncio.get_running_loop()
        for name in names:
            try:  # nothing serves yet: load at full priority (the loader thread is niced for hot loads)
                await loop.run_in_executor(None, self.load, name)
            except VersionError as exc:
                logger.error("not serving %s: %s", name, exc)
        if not self.versions:
            logger.warning("no version loaded from %s: /readyz answers 503 until one is (build one with "
                           "`rarft build-retriever`, then load it with `rarft deploy load` or run with --watch)", self.registry)
        if self.settings.watch:
            self._watcher = threading.Thread(target=self._watch, name="rarft-watch", daemon=True)
            self._watcher.start()

    async def stop(self) -> None:
        self._stop.set()
        await self.batcher.stop()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.loader.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ versions
    def split(self) -> dict[str, float]:
        return self.ab.effective(self.order)

    def _newest_first(self, versions: dict[str, LoadedVersion]) -> list[str]:
        return sorted(versions, key=lambda n: (versions[n].manifest.created_at, versions[n].loaded_at, n), reverse=True)

    def load(self, name: str, weight: float | None = None) -> LoadedVersion:
        """Check, load and warm `name` (blocking; call from the loader thread), then swap it in atomically."""
        with self._lock:
            if name in self.versions:
                raise VersionConflict(f"version {name} is already loaded; unload it first to reload it")
            if name in self._loading:
                raise VersionConflict(f"version {name} is already being loaded")
            if weight is not None and not 0 <= weight <= 1:
                raise VersionError(f"weight {weight} is the new version's share of traffic: give a number from 0 to 1")
            path = version_dir(self.registry, name)
            try:
                cost = estimate_bytes(path, read_manifest(path))
            except VersionError:
                raise
            except OSError as exc:
                raise VersionError(f"version {name}: cannot read its files: {exc}") from None
            used = sum(v.cost_bytes for v in self.versions.values()) + sum(self._reserved.values())
            limit = self.settings.memory_limit_mb * 2**20
            if used + cost > limit:
                self.metrics.loads.labels("refused").inc()
                raise MemoryBudgetExceeded(
                    f"loading {name} (~{cost / 2**20:.0f} MB) would exceed the memory limit: ~{used / 2**20:.0f} MB in use, "
                    f"limit {self.settings.memory_limit_mb:.0f} MB (RARFT_MEMORY_LIMIT_MB); unload a version first"
                )
            self._loading.add(name)
            self._reserved[name] = cost
        try:
            version = load_version(self.registry, name, self.settings.warmup_query, self.settings.device)
        except VersionError as exc:
            self.rejected[name] = str(exc)
            self.metrics.loads.labels("rejected").inc()
            raise
        except Exception as exc:  # an unexpected failure still only rejects this version
            self.rejected[name] = f"version {name}: load failed: {exc}"
            self.metrics.loads.labels("rejected").inc()
            raise VersionError(self.rejected[name]) from exc
        finally:
            with self._lock:
                self._loading.discard(name)
                self._reserved.pop(name, None)
        with self._lock:
            before = self.split()
            versions = dict(self.versions)
            versions[name] = version
            self.versions, self.order = versions, self._newest_first(versions)
            self.rejected.pop(name, None)
            self.requests.setdefault(name, 0)
            if weight is not None:  # the new version's share; the current arms keep their ratios in the rest
                base = {n: w * (1 - weight) for n, w in before.items()}
                weights = {**base, name: weight}
                self.ab.set_split(weights if sum(weights.values()) > 0 else {name: 1.0}, self.order)
            self._note_swap(before)
        self.metrics.loads.labels("loaded").inc()
        self.metrics.index_size.labels(name).set(version.index.ntotal)
        self.metrics.version_bytes.labels(name).set(version.cost_bytes)
        return version

    def unload(self, name: str) -> None:
        with self._lock:
            if name not in self.versions:
                raise VersionNotFound(f"version {name} is not loaded (loaded: {', '.join(self.order) or 'none'})")
            remaining = [n for n in self.order if n != name]
            if not remaining:
                raise VersionConflict(f"{name} is the only loaded version; load another before unloading it")
            split = self.split()
            if split.get(name, 0) > 0 and not any(split.get(n, 0) > 0 for n in remaining):
                raise VersionConflict(f"{name} takes all traffic; promote another version before unloading it")
            before = split
            self.ab.forget(name, remaining)
            versions = dict(self.versions)
            versions.pop(name)
            self.versions, self.order = versions, remaining
            self._note_swap(before)
        self.metrics.index_size.remove(name)
        self.metrics.version_bytes.remove(name)

    def set_split(self, weights: dict[str, float]) -> dict[str, float]:
        with self._lock:
            before = self.split()
            try:
                self.ab.set_split(weights, self.order)
            except KeyError as exc:
                raise VersionNotFound(exc.args[0]) from None
            except ValueError as exc:
                raise VersionError(str(exc)) from None
            self._note_swap(before)
            return self.split()

    def rollback(self) -> dict[str, float]:
        with self._lock:
            before = self.split()
            try:
                self.ab.rollback(self.order)
            except LookupError as exc:
                raise VersionConflict(str(exc)) from None
            self._note_swap(before)
            return self.split()

    def _note_swap(self, before: dict[str, float]) -> None:
        if self.split() != before:
            if before:  # the first version going live is not a swap
                self.metrics.swaps.inc()
            logger.info("traffic split now %s", self.split())

    # ------------------------------------------------------------------ requests
    def pick(self, pinned: str | None, routing_key: str | None) -> tuple[LoadedVersion, str]:
        """The version a request runs on (kept for its whole life) and its arm name."""
        versions = self.versions  # one snapshot: a concurrent swap cannot change it under us
        if pinned is not None:
            version = versions.get(pinned)
            if version is None:
                raise VersionNotFound(f"version {pinned!r} is not loaded; loaded versions: {', '.join(sorted(versions)) or 'none'}")
            arm = "pinned"
        else:
            name = self.ab.choose(routing_key, self.order)
            version = versions.get(name) if name else None
            if version is None:
                raise NotReady("no retriever version is loaded yet")
            arm = name
        self.requests[version.name] = self.requests.get(version.name, 0) + 1
        return version, arm

    def ready(self) -> bool:
        return any(w > 0 and n in self.versions for n, w in self.split().items())

    def versions_response(self) -> VersionsResponse:
        versions = self.versions
        infos = [
            VersionInfo(name=n, num_demonstrations=v.manifest.num_demonstrations, dim=v.dim, index_type=v.manifest.index_type,
                        loaded_at=v.loaded_at, requests=self.requests.get(n, 0),
                        manifest=v.manifest.model_dump(exclude={"files"}) | {"estimated_mb": round(v.cost_bytes / 2**20, 1)})
            for n, v in ((n, versions[n]) for n in self.order if n in versions)
        ]
        return VersionsResponse(versions=infos, split=self.split(), previous_split=self.ab.previous,
                                arm_requests=dict(self.ab.arm_requests), feedback=self.feedback.summary(),
                                rejected=dict(self.rejected), loading=sorted(self._loading))

    # ------------------------------------------------------------------ watch mode
    def _watch(self) -> None:
        seen: dict[str, float] = {}
        while not self._stop.wait(self.settings.watch_interval_s):
            try:
                for name in discover(self.registry):
                    if name in self.versions or name in self._loading:
                        continue
                    mtime = (self.registry / name / "manifest.json").stat().st_mtime
                    if seen.get(name) == mtime:
                        continue  # rejected before and unchanged since
                    seen[name] = mtime
                    logger.info("watch: new version %s", name)
                    try:
                        self.loader.submit(self.load, name).result()
                    except VersionError as exc:
                        logger.error("watch: not serving %s: %s", name, exc)
            except Exception:  # the watcher must outlive a bad poll (e.g. a dir removed mid-scan)
                logger.exception("watch: registry poll failed")
