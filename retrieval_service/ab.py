"""A/B traffic between loaded versions: weighted arms, sticky by routing key.

Without an explicit split the newest loaded version takes all traffic. A routing key is hashed with a
stable hash (sha256, not Python's per-process `hash`) to a point in [0, 1); arms own consecutive slices
of that interval in name order. The arm is therefore a pure function of (routing key, weights): every
replica serving the same deployment generation sends a key to the same arm, and a change of weights moves
only the keys whose slice changed owner (the generation is deliberately not hashed in, which would
reshuffle every key on every change).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import defaultdict


def key_point(key: str) -> float:
    """Stable position of a routing key in [0, 1), identical across processes and replicas."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


def arm_for(point: float, split: dict[str, float]) -> str | None:
    """The arm owning `point`: arms hold consecutive slices of [0, 1) in name order, sized by weight."""
    split = {k: w for k, w in split.items() if w > 0}
    if not split:
        return None
    total = sum(split.values())
    acc = 0.0
    name = None
    for name, w in sorted(split.items()):
        acc += w / total
        if point < acc:
            break
    return name


class ABRouter:
    """The split in force on this replica (installed from the deployment) and its per-arm request counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.explicit: dict[str, float] | None = None  # None = newest version takes all
        self.previous: dict[str, float] | None = None
        self.arm_requests: dict[str, int] = defaultdict(int)
        self._rng = random.Random()

    def install(self, split: dict[str, float] | None, previous: dict[str, float] | None) -> None:
        with self._lock:
            self.explicit, self.previous = (dict(split) if split is not None else None), previous

    def effective(self, loaded_newest_first: list[str]) -> dict[str, float]:
        if self.explicit is not None:
            return dict(self.explicit)
        return {loaded_newest_first[0]: 1.0} if loaded_newest_first else {}

    def choose(self, routing_key: str | None, loaded_newest_first: list[str]) -> str | None:
        split = {k: w for k, w in self.effective(loaded_newest_first).items() if k in loaded_newest_first}
        point = key_point(routing_key) if routing_key is not None else self._rng.random()
        name = arm_for(point, split)
        if name is not None:
            with self._lock:
                self.arm_requests[name] += 1
        return name
