"""CPU work off the event loop, with micro-batching of concurrent requests.

Requests put (version, queries, k) on a queue. One worker takes everything queued (waiting at most
`window` for stragglers), and per version runs ONE encode + ONE FAISS search for the merged batch in a
thread pool, then hands each request its rows. While a batch runs, the next one accumulates, so under
load batches grow by themselves and the 2 cores do fewer, larger matrix products.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from shared.versions import LoadedVersion

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    version: LoadedVersion
    queries: list[str]
    k: int
    future: asyncio.Future


class MicroBatcher:
    def __init__(self, executor: Executor, window_s: float = 0.002, max_queries: int = 512,
                 observe: Callable[[int], None] | None = None) -> None:
        self.executor = executor
        self.observe = observe
        self.window_s = window_s
        self.max_queries = max_queries
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="rarft-micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def search(self, version: LoadedVersion, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (len(queries), <= k) from `version` (the one the request started with)."""
        assert self._queue is not None, "batcher not started (the app lifespan starts it)"
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(version, queries, k, fut))
        return await fut

    async def _collect(self) -> list[_Job]:
        assert self._queue is not None
        jobs = [await self._queue.get()]
        size = len(jobs[0].queries)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window_s
        while size < self.max_queries:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            jobs.append(job)
            size += len(job.queries)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect()
            groups: dict[int, list[_Job]] = {}
            for job in jobs:
                groups.setdefault(id(job.version), []).append(job)
            await asyncio.gather(*(self._run_group(loop, group) for group in groups.values()))

    async def _run_group(self, loop: asyncio.AbstractEventLoop, group: list[_Job]) -> None:
        version = group[0].version
        queries = [q for job in group for q in job.queries]
        k = max(job.k for job in group)
        if self.observe is not None:
            self.observe(len(queries))
        try:
            scores, ids = await loop.run_in_executor(self.executor, version.search_batch, queries, k)
        except Exception as exc:  # hand the failure to every waiting request instead of killing the worker
            logger.exception("batch search on %s failed", version.name)
            for job in group:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        start = 0
        for job in group:
            end = start + len(job.queries)
            if not job.future.done():
                job.future.set_result((scores[start:end, : job.k], ids[start:end, : job.k]))
            start = end
