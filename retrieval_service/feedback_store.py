"""Training reward per arm, shared by every replica: SQLite in the registry (`REGISTRY/feedback.sqlite`).

A report is keyed by (run_id, step, arm) and inserted once, so a client retry, even one that fails over to
another replica, never counts a step twice. Per-arm totals are updated in the same transaction, so the
summary costs one small query however long training runs. SQLite's file locking serialises writers from
several processes on one host or on a local volume; on NFS put the registry on a filesystem with working
POSIX locks.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

FEEDBACK_FILE = "feedback.sqlite"
MAX_ARMS = 256  # feedback comes from clients: the number of arms it may create is bounded

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (run_id TEXT NOT NULL, step INTEGER NOT NULL, arm TEXT NOT NULL,
                                    reward REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (run_id, step, arm));
CREATE TABLE IF NOT EXISTS arms (arm TEXT PRIMARY KEY, reward_sum REAL NOT NULL, count INTEGER NOT NULL,
                                 steps INTEGER NOT NULL);
"""


class FeedbackUnavailable(RuntimeError):
    """The store cannot be opened or written (answered 503: the report is not lost, the client retries)."""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                raise FeedbackUnavailable(f"feedback store {self.path}: {exc}") from None
            self._db = db
        return self._db

    def add(self, rewards: dict[str, float], counts: dict[str, int], run_id: str, step: int) -> int:
        """Count one step's report; returns how many arms were new for this (run_id, step) (0 = a retry)."""
        with self._lock:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    known = {row[0] for row in db.execute("SELECT arm FROM arms")}
                    if len(known | set(rewards)) > MAX_ARMS:
                        raise ValueError(f"feedback would track more than {MAX_ARMS} arms")
                    added = 0
                    for arm, reward in sorted(rewards.items()):
                        n = max(int(counts.get(arm, 1)), 0) or 1
                        cur = db.execute("INSERT OR IGNORE INTO reports VALUES (?, ?, ?, ?, ?)", (run_id, step, arm, reward, n))
                        if cur.rowcount:
                            added += 1
                            db.execute("INSERT INTO arms VALUES (?, ?, ?, 1) ON CONFLICT(arm) DO UPDATE SET "
                                       "reward_sum = reward_sum + excluded.reward_sum, count = count + excluded.count, "
                                       "steps = steps + 1", (arm, reward * n, n))
                    db.execute("COMMIT")
                    return added
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise FeedbackUnavailable(f"feedback store {self.path}: {exc}") from None

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean reward, rollouts and steps per arm, over every replica's reports."""
        with self._lock:
            if self._db is None and not self.path.exists():
                return {}
            try:
                rows = self._connect().execute("SELECT arm, reward_sum, count, steps FROM arms ORDER BY arm").fetchall()
            except (sqlite3.Error, FeedbackUnavailable):
                return {}  # /versions must answer even when the store is unavailable
        return {arm: {"mean_reward": total / n, "count": float(n), "steps": float(steps)} for arm, total, n, steps in rows}

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
