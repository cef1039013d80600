"""Shared pieces of the service benchmarks: a generated 100k bank, a server subprocess, async load clients.

The 100k bank's problems are generated text, but its index holds random unit vectors instead of 100k
MiniLM encodings (encoding 100k texts takes ~15 min on 2 cores); FAISS search cost depends only on the
number and width of the vectors, and queries are still encoded by the real MiniLM at request time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from trainer.experiment.service import free_port  # noqa: E402  (after the path setup)


def emit(result: dict, json_path: Path | None) -> None:
    """Print a benchmark's figures as JSON, and also write them to `json_path` when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if json_path:
        json_path.write_text(text + "\n")


THEMES = ["trains", "tanks", "gardens", "coins", "books", "runners", "bakeries", "ladders", "clocks", "ships"]


def problem_text(i: int) -> str:
    a, b, theme = 3 + i % 97, 2 + (i // 97) % 13, THEMES[i % len(THEMES)]
    return f"Problem {i}: in a puzzle about {theme}, {a} items are shared among {b} groups. How many are left over?"


def queries(n: int, offset: int = 0) -> list[str]:
    return [f"A question about {THEMES[(i + offset) % 10]}: if {i + offset} things are split into {2 + i % 7} piles, "
            f"what remains?" for i in range(n)]


def ensure_version(registry: Path, name: str, n: int, seed: int) -> Path:
    """registry/name with n generated demonstrations and random unit vectors (built once, then reused)."""
    from shared.versions import build_version
    from shared.contract import Demonstration
    from shared.models import load_encoder, EMBEDDED_ENCODER

    out = registry / name
    if (out / "manifest.json").exists():
        return out
    t0 = time.perf_counter()
    encoder = load_encoder(EMBEDDED_ENCODER)
    dim = int(encoder.get_embedding_dimension())
    rows = [Demonstration(id=f"{name}-{i}", problem=problem_text(i), solution=f"{3 + i % 97} mod {2 + (i // 97) % 13}.",
                          answer=str((3 + i % 97) % (2 + (i // 97) % 13)), strategy="remainder", theme=THEMES[i % 10])
            for i in range(n)]
    vecs = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    build_version(encoder=encoder, bank=rows, out_dir=out, embeddings=vecs, show_progress=False)
    print(f"built {name}: {n} demonstrations in {time.perf_counter() - t0:.1f}s", flush=True)
    return out



@contextlib.contextmanager
def server(registry: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """`rarft serve` in its own process (so client and server do not share a GIL); yields (url, pid)."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--registry", str(registry), "--port", str(port),
                             "--log-level", "warning"], env={**os.environ, **(env or {})}, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_clients(url: str, clients: int, duration: float, batch: int, k: int, stop: asyncio.Event | None = None):
    """`clients` concurrent loops posting /retrieve for `duration` s; returns [(t_start, latency_s, ok, version)]."""
    import httpx

    records: list[tuple[float, float, bool, str]] = []
    end = time.perf_counter() + duration

    async def one(cid: int) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            n = 0
            while time.perf_counter() < end and not (stop and stop.is_set()):
                body = {"queries": queries(batch, offset=cid * 1000 + n), "k": k}
                t0 = time.perf_counter()
                try:
                    r = await http.post(url + "/retrieve", json=body)
                    ok = r.status_code == 200
                    version = r.json()["version"] if ok else f"HTTP {r.status_code}"
                except Exception as exc:  # connection errors count as failed requests
                    ok, version = False, repr(exc)
                records.append((t0, time.perf_counter() - t0, ok, version))
                n += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    return records


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")
