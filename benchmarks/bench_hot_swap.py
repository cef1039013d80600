"""Benchmark 2: hot swap under load. N clients for T s while a 100k-vector version is loaded and swapped in.

    python benchmarks/bench_hot_swap.py [--bank-size 100000 --clients 4 --duration 60 --batch 8]

Prints failed requests (target 0) and p99 latency during the swap window (from the admin load call until
1 s after it returned) vs steady state before it (target <= 2x), plus the server's RSS with one and with
two 100k versions loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _common import emit, ensure_version, pct, rss_mb, run_clients, server

TOKEN = "bench-token"


async def scenario(url: str, pid: int, args) -> dict:
    import httpx

    rss_one = rss_mb(pid)
    stop = asyncio.Event()  # clients run for `duration` and at least 5 s past the end of the swap
    started = time.perf_counter()
    load_task = asyncio.create_task(run_clients(url, args.clients, 3600, args.batch, args.k, stop))
    await asyncio.sleep(args.duration / 3)
    swap_start = time.perf_counter()
    async with httpx.AsyncClient(timeout=600) as http:
        r = await http.post(url + "/admin/load", json={"name": "v1"}, headers={"Authorization": f"Bearer {TOKEN}"})
        swap_end = time.perf_counter()
        if r.status_code != 200:
            raise SystemExit(f"load failed: {r.status_code} {r.text}")
        after_swap = (await http.post(url + "/retrieve", json={"queries": ["after the swap"], "k": 1})).json()["version"]
    rss_two = rss_mb(pid)
    await asyncio.sleep(max(5.0, args.duration - (time.perf_counter() - started)))
    stop.set()
    records = await load_task
    steady = [lat for t0, lat, ok, _ in records if ok and t0 + lat < swap_start and t0 > swap_start - args.duration / 3 + 1]
    during = [lat for t0, lat, ok, _ in records if ok and t0 + lat >= swap_start and t0 <= swap_end + 1.0]
    after = [v for t0, _, ok, v in records if ok and t0 > swap_end]
    return {
        "bank_size": args.bank_size, "clients": args.clients, "batch": args.batch, "k": args.k, "duration_s": args.duration,
        "requests": len(records), "failed_requests": sum(not ok for *_, ok, _ in records),
        "load_and_swap_s": round(swap_end - swap_start, 2),
        "steady_p99_ms": round(pct(steady, 99) * 1000, 1), "swap_p99_ms": round(pct(during, 99) * 1000, 1),
        "p99_ratio": round(pct(during, 99) / pct(steady, 99), 3),
        "steady_p50_ms": round(pct(steady, 50) * 1000, 1), "swap_p50_ms": round(pct(during, 50) * 1000, 1),
        "version_serving_after_swap": after_swap,
        "share_of_later_requests_on_v1": round(sum(v == "v1" for v in after) / len(after), 3) if after else None,
        "rss_one_version_mb": round(rss_one), "rss_two_versions_mb": round(rss_two),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank-size", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (at least swap + 5 s)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "rarft-bench")
    p.add_argument("--encoder-backend", default="torch", help="rarft serve's --encoder-backend (torch, torch-bf16, onnx, "
                   "onnx-int8)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = p.parse_args()
    from retrieval_service.deployment import deployment_path

    registry = args.workdir / f"swap-{args.bank_size}"
    ensure_version(registry, "v0", args.bank_size, seed=0)
    ensure_version(registry, "v1", args.bank_size, seed=1)
    # every run starts from v0 alone: the last run's recorded deployment (v1 loaded) would win over load_at_startup
    deployment_path(registry).unlink(missing_ok=True)
    env = {"RARFT_ADMIN_TOKEN": TOKEN, "RARFT_LOAD_AT_STARTUP": '["v0"]', "RARFT_ENCODER_BACKEND": args.encoder_backend}
    with server(registry, env) as (url, pid):
        asyncio.run(run_clients(url, args.clients, 2.0, args.batch, args.k))  # warm-up
        result = {"encoder_backend": args.encoder_backend, **asyncio.run(scenario(url, pid, args))}
    emit(result, args.json)
    print(f"FAILED requests = {result['failed_requests']} (target 0); p99 during swap / steady = "
          f"{result['p99_ratio']:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
