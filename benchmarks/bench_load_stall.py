"""How long a version load stalls the service's other Python threads (the GIL held by a garbage collection).

    python benchmarks/bench_load_stall.py [--bank-size 100000 --reps 3] [--pause-gc]

One thread loads a `--bank-size` version (retrieval_service.registry.load_version, as the service's loader does)
while another sleeps 0.5 ms at a time and records how late it wakes: the largest gap is the longest time a request
thread could not run Python. A 100k version is already loaded, as in a serving replica. `--pause-gc` wraps each
load in `retrieval_service.gc_control.paused_collection`, the service's path.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from pathlib import Path

from _common import emit, ensure_version, pct  # also puts the repo on sys.path and sets HF_HUB_OFFLINE


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bank-size", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--pause-gc", action="store_true", help="load under the service's paused collector")
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "rarft-bench")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()

    from retrieval_service.gc_control import paused_collection, release_frozen
    from retrieval_service.registry import load_version

    registry = args.workdir / f"swap-{args.bank_size}"
    ensure_version(registry, "v0", args.bank_size, seed=0)
    ensure_version(registry, "v1", args.bank_size, seed=1)
    serving = load_version(registry, "v0", "warm up")  # noqa: F841  (kept alive, as a replica's current version)
    rows = []
    for rep in range(args.reps):
        stop, gaps = threading.Event(), []

        def tick() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                time.sleep(0.0005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = threading.Thread(target=tick)
        ticker.start()
        time.sleep(0.2)
        start = time.perf_counter()
        with paused_collection() if args.pause_gc else contextlib.nullcontext():
            version = load_version(registry, "v1", "warm up")
        load_s = time.perf_counter() - start
        time.sleep(0.2)
        stop.set()
        ticker.join()
        rows.append({"rep": rep, "load_s": round(load_s, 3), "max_stall_ms": round(max(gaps) * 1000, 1),
                     "p999_stall_ms": round(pct(gaps, 99.9) * 1000, 1)})
        print(f"rep {rep}: load {load_s:.2f} s, longest stall {max(gaps) * 1000:.0f} ms", flush=True)
        del version
        release_frozen()
    emit({"bank_size": args.bank_size, "pause_gc": args.pause_gc, "runs": rows}, args.json)


if __name__ == "__main__":
    main()
