"""A/B traffic between loaded versions: weighted arms, sticky by routing key, pinned overrides, rollback.

Without an explicit split the newest loaded version takes all traffic. A routing key is hashed with a
stable hash (sha256, not Python's per-process `hash`) to a point in [0, 1); arms own consecutive slices
of that interval in name order, so the same key lands on the same arm for as long as the weights hold.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict, defaultdict


def key_point(key: str) -> float:
    """Stable position of a routing key in [0, 1), identical across processes and replicas."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


def normalise(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: w / total for k, w in sorted(weights.items())}


class ABRouter:
    """Holds the split; thread-safe (admin routes, the watcher and requests touch it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.explicit: dict[str, float] | None = None  # None = newest version takes all
        self.previous: dict[str, float] | None = None
        self.arm_requests: dict[str, int] = defaultdict(int)
        self._rng = random.Random()

    def effective(self, loaded_newest_first: list[str]) -> dict[str, float]:
        if self.explicit is not None:
            return dict(self.explicit)
        return {loaded_newest_first[0]: 1.0} if loaded_newest_first else {}

    def set_split(self, weights: dict[str, float], loaded_newest_first: list[str]) -> bool:
        """Install a new split (names must be loaded); returns True when the effective split changed."""
        unknown = sorted(set(weights) - set(loaded_newest_first))
        if unknown:
            raise KeyError(f"not loaded: {', '.join(unknown)}; load them first (loaded: {', '.join(loaded_newest_first) or 'none'})")
        if sum(weights.values()) <= 0:
            raise ValueError("at least one weight must be > 0")
        new = normalise(weights)
        with self._lock:
            current = self.effective(loaded_newest_first)
            if new == current:
                self.explicit = new
                return False
            self.previous, self.explicit = current, new
            return True

    def rollback(self, loaded_newest_first: list[str]) -> dict[str, float]:
        with self._lock:
            if self.previous is None:
                raise LookupError("no previous split to roll back to")
            missing = sorted(n for n, w in self.previous.items() if n not in loaded_newest_first)
            if missing:
                raise LookupError(f"previous split uses versions no longer loaded: {', '.join(missing)}")
            current = self.effective(loaded_newest_first)
            self.explicit, self.previous = self.previous, current
            return dict(self.explicit)

    def forget(self, name: str, loaded_newest_first: list[str]) -> None:
        """Drop an unloaded version from the split (it must not hold the only weight)."""
        with self._lock:
            if self.explicit is not None and name in self.explicit:
                rest = {k: w for k, w in self.explicit.items() if k != name}
                self.previous, self.explicit = self.explicit, (normalise(rest) if sum(rest.values()) > 0 else None)
            if self.previous is not None and name in self.previous:
                self.previous = None

    def choose(self, routing_key: str | None, loaded_newest_first: list[str]) -> str | None:
        split = {k: w for k, w in self.effective(loaded_newest_first).items() if w > 0 and k in loaded_newest_first}
        if not split:
            return None
        point = key_point(routing_key) if routing_key is not None else self._rng.random()
        total = sum(split.values())
        acc = 0.0
        name = None
        for name, w in sorted(split.items()):
            acc += w / total
            if point < acc:
                break
        with self._lock:
            self.arm_requests[name] += 1
        return name


class FeedbackBoard:
    """Training reward per arm, aggregated over steps (count-weighted mean); each (run_id, step) counts once."""

    MAX_ARMS = 256  # bounded: feedback comes from clients
    MAX_REPORTS = 100_000  # (run_id, step) keys remembered for deduplication, oldest forgotten first

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sum: dict[str, float] = defaultdict(float)
        self._n: dict[str, float] = defaultdict(float)
        self._steps: dict[str, int] = defaultdict(int)
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()

    def add(self, rewards: dict[str, float], counts: dict[str, int], run_id: str = "", step: int | None = None) -> bool:
        """Count one step's report; False (and nothing counted) when this (run_id, step) was counted already."""
        with self._lock:
            key = (run_id, step) if step is not None else None
            if key is not None and key in self._seen:
                return False
            new = set(rewards) - set(self._n)
            if len(self._n) + len(new) > self.MAX_ARMS:
                raise ValueError(f"feedback would track more than {self.MAX_ARMS} arms")
            for arm, reward in rewards.items():
                n = max(int(counts.get(arm, 1)), 0) or 1
                self._sum[arm] += reward * n
                self._n[arm] += n
                self._steps[arm] += 1
            if key is not None:
                self._seen[key] = None
                if len(self._seen) > self.MAX_REPORTS:
                    self._seen.popitem(last=False)
            return True

    def summary(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {arm: {"mean_reward": self._sum[arm] / self._n[arm], "count": self._n[arm], "steps": float(self._steps[arm])}
                    for arm in sorted(self._n)}
