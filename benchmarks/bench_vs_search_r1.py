"""Benchmark: `rarft serve` against Search-R1's own retrieval server, side by side on the same box.

    python benchmarks/bench_vs_search_r1.py [--bank-size 2000 --duration 15 --rounds 2]

Same bank (generated demonstrations, encoded by the real MiniLM once), same encoder (all-MiniLM-L6-v2, mean
pooling, normalised), same flat inner-product FAISS index file, same request format (Search-R1's
`{"queries", "topk", "return_scores"}` on its `/retrieve` and on our `/search-r1/retrieve`), same load. The
peer is `search_r1/search/retrieval_server.py` vendored verbatim (benchmarks/third_party, Apache-2.0),
patched at run time only to run on CPU in fp32 and bind 127.0.0.1 (PATCHES below). Both servers run in
their own processes; the loads alternate between them, round by round, so both see the same background.

Loads: 16 concurrent clients posting 1 query each; 4 clients posting 32 queries each. Prints q/s and p50/p99
latency per server and load (best round by q/s, as the issue's measurement did, and the median round), the
ratios ours / peer, and top-4 agreement of the two servers' hits on 200 queries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, THEMES, emit, free_port, pct, queries, server

PEER = ROOT / "benchmarks" / "third_party" / "search_r1_retrieval_server.py"
PATCHES = [  # (upstream text, replacement): CPU instead of CUDA, fp32 (fp16 matmuls are slow on CPU), loopback
    ("    model.cuda()\n", "    pass  # benchmark patch: stays on the CPU\n"),
    ("inputs = {k: v.cuda() for k, v in inputs.items()}", "inputs = {k: v for k, v in inputs.items()}"),
    ("retrieval_use_fp16=True,", "retrieval_use_fp16=False,"),
    ('uvicorn.run(app, host="0.0.0.0", port=8000)', 'uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), '
                                                    'log_level="warning")'),
]
LOADS = {"16 clients x 1 query": (16, 1), "4 clients x 32 queries": (4, 32)}


def build(workdir: Path, n: int) -> tuple[Path, Path, Path]:
    """Our registry version (real MiniLM embeddings, flat index) and the peer's corpus.jsonl + index (same file)."""
    from shared.contract import Demonstration
    from shared.models import EMBEDDED_ENCODER, load_encoder
    from shared.versions import build_version, load_version

    registry, version = workdir / "registry", workdir / "registry" / "v0"
    if not (version / "manifest.json").exists():
        t0 = time.perf_counter()
        rows = [Demonstration(id=f"d{i}", problem=f"In a puzzle about {THEMES[i % 10]}, {3 + i % 97} items are shared "
                              f"among {2 + (i // 97) % 13} groups of friends. How many are left over at the end?",
                              solution=f"{3 + i % 97} mod {2 + (i // 97) % 13}.", answer=str((3 + i % 97) % (2 + (i // 97) % 13)),
                              strategy=["remainder", "division", "counting", "rates"][i % 4], theme=THEMES[i % 10])
                for i in range(n)]
        build_version(encoder=load_encoder(EMBEDDED_ENCODER), bank=rows, out_dir=version, show_progress=True)
        print(f"built the {n}-row bank in {time.perf_counter() - t0:.0f} s", flush=True)
    from retrieval_service.hits import search_r1_document

    corpus = workdir / "corpus.jsonl"
    if not corpus.exists():
        loaded = load_version(version)
        with corpus.open("w") as fh:
            for i in range(len(loaded.bank)):
                fh.write(json.dumps(search_r1_document(loaded, i)) + "\n")  # the peer returns the same documents
    return registry, corpus, version / "index.faiss"


def patched_peer(workdir: Path) -> Path:
    text = PEER.read_text()
    for old, new in PATCHES:
        if text.count(old) != 1:
            raise SystemExit(f"{PEER}: expected one {old!r}; the vendored file changed, update PATCHES")
        text = text.replace(old, new)
    out = workdir / "search_r1_server_cpu.py"
    out.write_text(text)
    return out


def start_peer(script: Path, corpus: Path, index: Path, encoder: str, log: Path) -> tuple[str, subprocess.Popen]:
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), "--index_path", str(index), "--corpus_path", str(corpus),
                             "--topk", "4", "--retriever_name", "minilm", "--retriever_model", encoder],
                            env={**os.environ, "BENCH_PORT": str(port)}, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Search-R1 server did not start; see {log}")
        try:
            httpx.post(url + "/retrieve", json={"queries": ["warm up"], "topk": 1, "return_scores": True}, timeout=10)
            return url, proc
        except httpx.HTTPError:
            time.sleep(0.5)


async def load(url: str, clients: int, batch: int, duration: float) -> tuple[float, list[float], int]:
    """(queries per second, latencies in s, failed requests) of `clients` loops posting `batch` queries each."""
    import httpx

    latencies: list[float] = []
    failed = [0]
    end = time.perf_counter() + duration

    async def one(cid: int) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            n = 0
            while time.perf_counter() < end:
                body = {"queries": queries(batch, offset=cid * 10_000 + n * batch), "topk": 4, "return_scores": True}
                t0 = time.perf_counter()
                try:
                    r = await http.post(url, json=body)
                    ok = r.status_code == 200 and len(r.json()["result"]) == batch
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                failed[0] += not ok
                n += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(clients)))
    return len(latencies) * batch / (time.perf_counter() - t0), latencies, failed[0]


def agreement(ours: str, peer: str, n: int = 200) -> float:
    """Mean share of the top-4 ids the two servers have in common, over n queries."""
    import httpx

    qs = queries(n, offset=777)
    ids = []
    for url in (ours, peer):
        # return_scores: the peer answers 500 without it (its endpoint unpacks two values either way)
        r = httpx.post(url, json={"queries": qs, "topk": 4, "return_scores": True}, timeout=120)
        r.raise_for_status()
        ids.append([{hit["document"]["id"] for hit in row} for row in r.json()["result"]])
    return statistics.fmean(len(a & b) / 4 for a, b in zip(*ids, strict=True))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank-size", type=int, default=2000)
    p.add_argument("--duration", type=float, default=15.0, help="seconds per round and server")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "rarft-bench-search-r1")
    p.add_argument("--thread-pool-size", type=int, default=None, help="rarft serve's --thread-pool-size (default: its own)")
    p.add_argument("--encoder-backend", default="torch", help="rarft serve's --encoder-backend (torch, torch-bf16, onnx, onnx-int8)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    from shared.models import EMBEDDED_ENCODER, resolve_encoder_path

    registry, corpus, index = build(args.workdir, args.bank_size)
    peer_url, peer = start_peer(patched_peer(args.workdir), corpus, index, str(resolve_encoder_path(EMBEDDED_ENCODER)),
                                args.workdir / "search_r1_server.log")
    try:
        env = {"RARFT_ENCODER_BACKEND": args.encoder_backend,
               **({"RARFT_THREAD_POOL_SIZE": str(args.thread_pool_size)} if args.thread_pool_size else {})}
        with server(registry, env=env) as (ours_url, _):
            targets = {"rarft serve": ours_url + "/search-r1/retrieve", "Search-R1 server": peer_url + "/retrieve"}
            both = {"top-4 agreement": agreement(targets["rarft serve"], targets["Search-R1 server"])}
            runs: dict[str, dict[str, list]] = {load_name: {s: [] for s in targets} for load_name in LOADS}
            for _ in range(args.rounds):
                for load_name, (clients, batch) in LOADS.items():
                    for name, url in targets.items():
                        asyncio.run(load(url, clients, batch, 2.0))  # warm connections and caches
                        runs[load_name][name].append(asyncio.run(load(url, clients, batch, args.duration)))
    finally:
        peer.send_signal(signal.SIGINT)
        try:
            peer.wait(timeout=20)
        except subprocess.TimeoutExpired:
            peer.kill()

    result: dict = {"bank_size": args.bank_size, "thread_pool_size": args.thread_pool_size,
                    "encoder_backend": args.encoder_backend, "duration_s": args.duration, "rounds": args.rounds, **both, "loads": {}}
    print(f"\n{'load':<24} {'server':<17} {'best q/s':>9} {'median q/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
    for load_name, per_server in runs.items():
        entry = {}
        for name, rounds in per_server.items():
            best = max(rounds, key=lambda r: r[0])
            entry[name] = {"best_qps": round(best[0], 1), "median_qps": round(statistics.median(r[0] for r in rounds), 1),
                           "p50_ms": round(pct(best[1], 50) * 1000), "p99_ms": round(pct(best[1], 99) * 1000),
                           "failed": sum(r[2] for r in rounds)}
            e = entry[name]
            print(f"{load_name:<24} {name:<17} {e['best_qps']:>9} {e['median_qps']:>11} {e['p50_ms']:>8} {e['p99_ms']:>8} "
                  f"{e['failed']:>7}")
        ours, peer_e = entry["rarft serve"], entry["Search-R1 server"]
        entry["ratio_qps"] = round(ours["best_qps"] / peer_e["best_qps"], 2)
        entry["ratio_p99"] = round(ours["p99_ms"] / peer_e["p99_ms"], 2)
        print(f"{load_name:<24} {'ours / peer':<17} {entry['ratio_qps']:>8}x {'':>11} {'':>8} {entry['ratio_p99']:>7}x")
        result["loads"][load_name] = entry
    print(f"top-4 agreement between the two servers on 200 queries: {both['top-4 agreement']:.3f}\n")
    emit(result, args.json)


if __name__ == "__main__":
    main()
