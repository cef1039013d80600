"""The running service: loaded versions, the deployment it serves, feedback, metrics, the batcher and the sync.

The registry's `deployment.json` is the desired state (`retrieval_service.deployment`); this replica follows
it: admin routes record a change there and apply it here at once, and a poll applies changes recorded by
other replicas or `rarft deploy --registry`. A new deployment is applied whole or not at all: its missing
versions are loaded and warmed in a low-priority loader thread while the current one serves, then versions
and split are swapped in as one reference change under a lock. A request holds the `LoadedVersion` it picked
and finishes on it even if the version is unloaded meanwhile. A deployment that fails here (a corrupt
version, the memory budget) leaves the old one serving and is reported in /versions and /readyz until the
next generation.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.contract import VersionInfo, VersionsResponse
from shared.manifests import DeploymentManifest

from retrieval_service import deployment as dep
from retrieval_service.ab import ABRouter
from retrieval_service.batching import MicroBatcher
from retrieval_service.feedback_store import FEEDBACK_FILE, FeedbackStore
from retrieval_service.gc_control import paused_collection, release_frozen
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
        self.feedback = FeedbackStore(self.registry / FEEDBACK_FILE)
        self.versions: dict[str, LoadedVersion] = {}
        self.order: list[str] = []  # loaded names, newest first
        self.deployment = DeploymentManifest(generation=0, versions=[])  # served; generation 0 = none recorded yet
        self.desired_generation: int | None = None  # the registry's, as last read
        self.sync_error: str | None = None
        self._failed_generation: int | None = None
        self._file_seen: tuple[int, int, int] | None = None
        self.rejected: dict[str, str] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.RLock()
        self._loading: set[str] = set()
        self._reserved: dict[str, int] = {}  # memory promised to loaded-but-not-installed versions
        self.pool = ThreadPoolExecutor(settings.thread_pool_size, thread_name_prefix="rarft-cpu")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="rarft-loader", initializer=_lower_priority,
                                         initargs=(settings.loader_nice,))
        self.batcher = MicroBatcher(self.pool, settings.batch_window_ms / 1000, settings.max_batch_queries,
                                    observe=self.metrics.batch_size.observe)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.batcher.start()
        loop = asyncio.get_running_loop()
        try:
            desired = dep.read_deployment(self.registry)
        except VersionError as exc:
            logger.error("%s", exc)
            self.sync_error, desired = str(exc), None
        if desired is not None:  # nothing serves yet: load at full priority (the loader thread is niced)
            if self.settings.load_at_startup is not None:
                logger.warning("%s records the deployment (generation %d): load_at_startup is ignored",
                               dep.deployment_path(self.registry), desired.generation)
            self._file_seen = self._file_signature()
            await loop.run_in_executor(None, self._apply, desired, {}, True)
        else:
            names = self.settings.load_at_startup if self.settings.load_at_startup is not None else discover(self.registry)
            for name in names:
                try:
                    version = await loop.run_in_executor(None, self._prepare, name)
                except VersionError as exc:
                    logger.error("not serving %s: %s", name, exc)
                    continue
                local = self.deployment.model_copy(update={"versions": [*self.deployment.versions, name]})
                self._install(local, {name: version})
        if not self.versions:
            logger.warning("no version loaded from %s: /readyz answers 503 until one is (build one with "
                           "`rarft build-retriever`, then load it with `rarft deploy load` or run with --watch)", self.registry)
        for target, interval in ((self._follow, self.settings.sync_interval_s),
                                 (self._watch, self.settings.watch_interval_s if self.settings.watch else 0)):
            if interval > 0:
                thread = threading.Thread(target=target, args=(interval,), name=f"rarft{target.__name__}", daemon=True)
                thread.start()
                self._threads.append(thread)

    async def stop(self) -> None:
        self._stop.set()
        await self.batcher.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.loader.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.feedback.close()
        release_frozen()  # the versions go with the service (an in-process host, such as a test, keeps running)

    # ------------------------------------------------------------------ versions
    def split(self) -> dict[str, float]:
        return self.ab.effective(self.order)

    @staticmethod
    def _newest_first(versions: dict[str, LoadedVersion]) -> list[str]:
        """The same order as `deployment.newest_first` (created_at, then name), so every replica agrees on "newest"."""
        return sorted(versions, key=lambda n: (versions[n].manifest.created_at, n), reverse=True)

    def _prepare(self, name: str) -> LoadedVersion:
        """Check, load and warm `name` without serving it (blocking); its memory stays reserved until installed."""
        with self._lock:
            if name in self.versions or name in self._reserved:
                raise VersionConflict(f"version {name} is already loaded; unload it first to reload it")
            path = version_dir(self.registry, name)
            try:
                cost = estimate_bytes(path, read_manifest(path), self.settings.encoder_backend)
            except VersionError as exc:
                self.rejected[name] = str(exc)
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
            with paused_collection():
                version = load_version(self.registry, name, self.settings.warmup_query, self.settings.device,
                                       self.settings.index_device, self.settings.encoder_backend)
        except Exception as exc:
            with self._lock:
                self._reserved.pop(name, None)
            if not isinstance(exc, VersionError):  # an unexpected failure still only rejects this version
                exc = VersionError(f"version {name}: load failed: {exc}")
            self.rejected[name] = str(exc)
            self.metrics.loads.labels("rejected").inc()
            raise exc from None
        finally:
            with self._lock:
                self._loading.discard(name)
        self.metrics.loads.labels("loaded").inc()
        return version

    def _discard(self, staged: dict[str, LoadedVersion]) -> None:
        with self._lock:
            for name in staged:
                self._reserved.pop(name, None)

    def _install(self, deployment: DeploymentManifest, staged: dict[str, LoadedVersion]) -> None:
        """Serve `deployment`: its versions (loaded ones kept, staged ones added) and split, in one swap."""
        with self._lock:
            before = self.split()
            versions = {n: staged.get(n) or self.versions[n] for n in deployment.versions if n in staged or n in self.versions}
            dropped = set(self.versions) - set(versions)
            self.versions, self.order = versions, self._newest_first(versions)
            self.ab.install(deployment.split, deployment.previous_split)
            self.deployment = deployment
            for name in staged:
                self._reserved.pop(name, None)
                self.rejected.pop(name, None)
                self.requests.setdefault(name, 0)
            self._note_swap(before)
        for name, version in staged.items():
            self.metrics.index_size.labels(name).set(version.index.ntotal)
            self.metrics.version_bytes.labels(name).set(version.cost_bytes)
        for name in dropped:
            self.metrics.index_size.remove(name)
            self.metrics.version_bytes.remove(name)
        if dropped:
            release_frozen()

    def _apply(self, desired: DeploymentManifest, staged: dict[str, LoadedVersion], partial: bool = False) -> bool:
        """Load what `desired` lacks here and serve it; on a failure keep serving the current deployment.

        With `partial` (startup, when nothing serves yet) the versions that load are served and the others reported.
        """
        staged = dict(staged)
        errors: list[str] = []
        for name in desired.versions:
            if name in staged or name in self.versions:
                continue
            try:
                staged[name] = self._prepare(name)
            except VersionError as exc:
                errors.append(str(exc))
                if not partial:
                    break
        self.desired_generation = max(desired.generation, self.desired_generation or 0)
        if errors and not partial:
            self._discard(staged)
            self._failed_generation = desired.generation
            self.sync_error = (f"generation {desired.generation} not applied, still serving generation "
                               f"{self.deployment.generation}: {errors[0]}")
            self.metrics.sync_failures.inc()
            logger.error("%s", self.sync_error)
            return False
        self._install(desired, staged)
        self.sync_error = ("; ".join(f"not serving: {e}" for e in errors)) if errors else None
        if errors:
            logger.error("generation %d served without some versions: %s", desired.generation, self.sync_error)
        self.metrics.generation.set(desired.generation)
        return True

    def change(self, kind: str, name: str | None = None, weight: float | None = None,
               weights: dict[str, float] | None = None, exist_ok: bool = False) -> None:
        """Record one admin change in the registry and serve it here (blocking; run it on the loader thread).

        A load is checked and warmed here before anything is recorded, so a version this replica rejects never
        reaches the others. With `exist_ok` (watch mode) a version already deployed is not an error.
        """
        if kind == "load" and weight is not None and not 0 <= weight <= 1:
            raise VersionError(f"weight {weight} is the new version's share of traffic: give a number from 0 to 1")
        staged = {name: self._prepare(name)} if kind == "load" and name not in self.versions else {}
        if kind == "load" and not staged and not exist_ok:
            raise VersionConflict(f"version {name} is already loaded; unload it first to reload it")
        try:
            with dep.locked(self.registry):
                current = dep.read_deployment(self.registry) or self.deployment
                order = dep.newest_first(self.registry, current.versions)
                if kind == "load" and exist_ok and name in current.versions:
                    new = current
                elif kind == "load":
                    new = dep.with_load(current, name, weight, order)
                elif kind == "split":
                    new = dep.with_split(current, weights or {}, order)
                elif kind == "rollback":
                    new = dep.with_rollback(current, order)
                elif kind == "unload":
                    new = dep.with_unload(current, name, order)
                else:
                    raise ValueError(f"unknown change {kind!r}")
                if new is not current:
                    dep.write_deployment(self.registry, new)
                    self._file_seen = self._file_signature()
        except BaseException:
            self._discard(staged)
            raise
        logger.info("deployment generation %d: %s", new.generation, new.updated_by or kind)
        self._apply(new, staged)

    def sync(self) -> None:
        """Follow the registry: apply a deployment recorded elsewhere (blocking; run it on the loader thread)."""
        signature = self._file_signature()
        if signature is None or signature == self._file_seen:
            return
        try:
            desired = dep.read_deployment(self.registry)
        except VersionError as exc:
            self.sync_error = str(exc)
            return
        self._file_seen = signature
        if desired is None:
            return
        self.desired_generation = desired.generation
        if desired.generation in (self.deployment.generation, self._failed_generation):
            return
        logger.info("registry deployment generation %d (%s): applying", desired.generation, desired.updated_by)
        self._apply(desired, {})

    def _file_signature(self) -> tuple[int, int, int] | None:
        try:
            st = dep.deployment_path(self.registry).stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

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
                                rejected=dict(self.rejected), loading=sorted(self._loading),
                                generation=self.deployment.generation, desired_generation=self.desired_generation,
                                sync_error=self.sync_error)

    # ------------------------------------------------------------------ background threads
    def _on_loader(self, fn, *args) -> bool:
        """Run `fn` on the loader thread and wait; False once the service is stopping."""
        try:
            future = self.loader.submit(fn, *args)
        except RuntimeError:  # the loader was shut down
            return False
        try:
            future.result()
        except VersionError as exc:
            logger.error("%s", exc)
        except Exception:  # the background threads must outlive a bad poll (e.g. a dir removed mid-scan)
            if not self._stop.is_set():
                logger.exception("registry poll failed")
        return not self._stop.is_set()

    def _follow(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if not self._on_loader(self.sync):
                return

    def _watch(self, interval: float) -> None:
        """Watch mode: deploy every new version whose manifest appears (once per manifest change)."""
        seen: dict[str, float] = {}
        while not self._stop.wait(interval):
            try:
                names = discover(self.registry)
            except OSError:  # a folder removed mid-scan: the next poll sees the registry settled
                continue
            for name in names:
                if name in self.versions or name in self._loading:
                    continue
                try:
                    mtime = (self.registry / name / "manifest.json").stat().st_mtime
                except OSError:
                    continue  # removed mid-scan
                if seen.get(name) == mtime:
                    continue  # rejected before and unchanged since
                seen[name] = mtime
                logger.info("watch: new version %s", name)
                if not self._on_loader(self.change, "load", name, None, None, True):
                    return
