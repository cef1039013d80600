"""Several processes for `rarft label` and `rarft eval`: which share of the work is this process's, and the barrier.

Under `accelerate launch` (or torchrun) each process gets a rank from accelerate's `PartialState`; the work is cut
into units whose contents never depend on the process count (label: chunks of queries, eval: generation batches),
unit i goes to process i % N, every process writes its own shard files, and the main process merges them after
`wait_for_everyone`. Without a launcher (WORLD_SIZE unset or 1) nothing of accelerate is touched: one process does
every unit, as before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.devices import resolve_device

T = TypeVar("T")


def launched_world_size() -> int:
    """The process count a launcher (accelerate launch, torchrun) announced through WORLD_SIZE; 1 without one."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


@dataclass(frozen=True)
class Processes:
    index: int
    count: int
    device: str  # this process's torch device (cuda:<local rank> on a multi-GPU launch)
    state: Any = None  # accelerate's PartialState when several processes run

    @property
    def is_main(self) -> bool:
        return self.index == 0

    def mine(self, units: Sequence[T]) -> list[T]:
        """This process's units: every N-th from its rank (round robin, so length-sorted work stays balanced)."""
        return [u for i, u in enumerate(units) if i % self.count == self.index]

    def wait(self) -> None:
        """Barrier: returns when every process reached it (no-op for one process)."""
        if self.state is not None:
            self.state.wait_for_everyone()


def processes(device: str = "auto", flag: str = "--device") -> Processes:
    """This process's rank, the process count and its device. `device` is the command's --device: `auto`/`cuda`
    become this process's own GPU (cuda:<local rank>), `cpu` makes every rank a gloo CPU rank."""
    resolved = resolve_device(device, flag)
    if launched_world_size() <= 1:
        return Processes(0, 1, resolved)
    from accelerate import PartialState

    state = PartialState(cpu=not resolved.startswith("cuda"))
    if resolved == "cuda":
        resolved = str(state.device)
    return Processes(state.process_index, state.num_processes, resolved, state)
