"""Python's cyclic garbage collector around version loads.

Loading a 100k-row version allocates a few hundred thousand tracked objects. With the collector on, that churn
sets off a full collection, which holds the GIL long enough to dominate the slowest requests of a hot swap
(docs/service.md, "Hot swap under load"). So the collector is paused while a version loads, and then every object
alive, the new version's among them, is frozen (`gc.freeze`): later full collections skip them instead of scanning
them again while the service serves. Refcounting still frees everything as usual; only reference cycles among
frozen objects wait until `release_frozen`, which a replica calls when it drops a version or stops.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_active = 0  # loads in progress (loads may overlap: the loader thread, startup, the registry sync)
_was_enabled = True


@contextlib.contextmanager
def paused_collection() -> Iterator[None]:
    """No cyclic collection while the block runs; when the last overlapping block ends, freeze every live object
    and re-enable the collector (unless the host had disabled it)."""
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()


def release_frozen() -> None:
    """Give frozen objects back to the collector, so a dropped version's cycles (if any) can be collected."""
    with _lock:
        if _active == 0:
            gc.unfreeze()
