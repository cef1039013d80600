"""Three `rarft serve` processes sharing one registry converge on its deployment: splits, sticky arms,
feedback counted once across replicas, a corrupt version rejected by all while the old state serves, and the
trainer's client balancing across them and failing over when one dies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared.cli import main as rarft
from shared.contract import Feedback
from tests.fixtures.service import build_small_version, demo_rows
from trainer.client import RetrievalClient

TOKEN = "replica-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUERY = "How many ways can 3 cats sit in a row?"
pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(registry: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RARFT_ADMIN_TOKEN": TOKEN, "RARFT_SYNC_INTERVAL_S": "0.25",
           "RARFT_THREAD_POOL_SIZE": "1"}
    return subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--registry", str(registry), "--port", str(port),
                             "--log-level", "warning"], env=env)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, small_registry, minilm):
    registry = tmp_path_factory.mktemp("replicas")
    shutil.copytree(small_registry / "v0", registry / "v0")
    build_small_version(registry, "v1", rows=demo_rows(prefix="b"), encoder=minilm)
    ports = [_port() for _ in range(3)]
    procs = [_serve(registry, port) for port in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 240  # three processes importing torch on a loaded 2-core box
        pending = set(urls)
        while pending and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), "a replica exited during startup"
            for url in list(pending):
                try:
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        assert not pending, f"replicas not ready: {pending}"
        yield registry, urls, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def versions(url: str) -> dict:
    return httpx.get(url + "/versions", timeout=10).json()


def converge(urls: list[str], generation: int, timeout: float = 20.0) -> float:
    """Seconds until every replica serves `generation` (fails after `timeout`)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if all(versions(u)["generation"] == generation for u in urls):
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"not converged on generation {generation}: {[versions(u)['generation'] for u in urls]}")


def arm(url: str, key: str) -> str:
    r = httpx.post(url + "/retrieve", json={"queries": [QUERY], "k": 1, "routing_key": key}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["arm"]


def test_a_split_sent_to_one_replica_reaches_all_and_arms_agree(replicas):
    registry, urls, _ = replicas
    assert {versions(u)["split"]["v1"] for u in urls} == {1.0}  # no deployment recorded yet: newest takes all
    r = httpx.post(urls[0] + "/admin/split", json={"weights": {"v0": 1, "v1": 1}}, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    generation = r.json()["generation"]
    assert generation == 1 and (registry / "deployment.json").is_file()
    waited = converge(urls, generation)
    print(f"replicas converged on generation {generation} in {waited:.2f} s")
    assert all(versions(u)["split"] == {"v0": 0.5, "v1": 0.5} for u in urls)
    keys = [f"run/prompt-{i}" for i in range(24)]
    per_replica = [[arm(u, k) for k in keys] for u in urls]
    assert per_replica[0] == per_replica[1] == per_replica[2]
    assert set(per_replica[0]) == {"v0", "v1"}


def test_rarft_deploy_to_several_urls_waits_until_each_serves_the_change(replicas, capsys):
    _, urls, _ = replicas
    assert rarft(["deploy", "--url", ",".join(urls), "--token", TOKEN, "split", "v0=1", "v1=3"]) == 0
    answers = json.loads(capsys.readouterr().out)["replicas"]
    assert list(answers) == urls
    assert {a["generation"] for a in answers.values()} == {2}
    assert all(a["split"] == {"v0": 0.25, "v1": 0.75} for a in answers.values())


def test_a_change_recorded_in_the_registry_without_a_service_reaches_all(replicas, capsys):
    registry, urls, _ = replicas
    generation = versions(urls[0])["generation"] + 1  # read before the change: a replica may apply it at once
    assert rarft(["deploy", "--registry", str(registry), "promote", "v0"]) == 0
    capsys.readouterr()
    converge(urls, generation)
    assert all(versions(u)["split"] == {"v0": 1.0} and versions(u)["previous_split"] == {"v0": 0.25, "v1": 0.75} for u in urls)
    assert {arm(u, "any-key") for u in urls} == {"v0"}


def test_feedback_is_counted_once_across_replicas_through_the_client(replicas):
    _, urls, _ = replicas
    body = Feedback(run_id="replica-run", step=3, rewards={"v0": 0.5}, counts={"v0": 4})
    # a retry that fails over lands on another replica: the shared store counts the step once
    for url in urls:
        with RetrievalClient(url) as client:
            client.feedback(body)
    assert {versions(u)["feedback"]["v0"]["count"] for u in urls} == {4.0}

    # a real lost answer: a proxy forwards the first POST to replica 0 but holds the answer past the client's
    # timeout, so the client retries on replica 1; the step must still count once
    proxy = HoldFirstAnswer(urls[0])
    with proxy, RetrievalClient([proxy.url, urls[1]], timeout_s=1.0, retries=2, backoff_s=0.01) as client:
        client.feedback(Feedback(run_id="replica-run", step=4, rewards={"v0": 1.0}, counts={"v0": 4}))
        assert proxy.forwarded == 1 and client.failovers == 1
    fb = versions(urls[2])["feedback"]["v0"]
    assert fb["count"] == 8.0 and fb["steps"] == 2.0 and fb["mean_reward"] == pytest.approx(0.75)


def test_a_corrupt_version_is_rejected_by_all_and_the_old_state_keeps_serving(replicas, capsys):
    registry, urls, _ = replicas
    shutil.copytree(registry / "v1", registry / "v2")
    with open(registry / "v2" / "bank.jsonl", "a") as fh:
        fh.write("\n")  # no longer matches its checksum
    before = versions(urls[0])["generation"]
    failures: list[str] = []
    served = [0]
    stop = threading.Event()

    def traffic(url: str) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                try:
                    r = http.post(url + "/retrieve", json={"queries": [QUERY], "k": 2})
                    if r.status_code != 200:
                        failures.append(f"{url}: {r.status_code} {r.text[:120]}")
                    served[0] += 1
                except httpx.HTTPError as exc:
                    failures.append(f"{url}: {exc!r}")

    threads = [threading.Thread(target=traffic, args=(u,), daemon=True) for u in urls]
    for t in threads:
        t.start()
    try:
        r = httpx.post(urls[0] + "/admin/load", json={"name": "v2"}, headers=AUTH, timeout=60)
        assert r.status_code == 422 and "checksum" in r.json()["detail"]
        assert versions(urls[0])["generation"] == before  # refused before anything was recorded

        assert rarft(["deploy", "--registry", str(registry), "load", "v2", "--weight", "0.5"]) == 0  # recorded for all
        capsys.readouterr()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(versions(u)["sync_error"] for u in urls):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    for url in urls:
        v = versions(url)
        assert v["generation"] == before and v["desired_generation"] == before + 1, v
        assert "v2" in v["sync_error"] and "still serving generation" in v["sync_error"]
        assert v["split"] == {"v0": 1.0} and "v2" not in [x["name"] for x in v["versions"]]
        ready = httpx.get(url + "/readyz", timeout=10)
        assert ready.status_code == 200 and "v2" in ready.json()["sync_error"]
    assert not failures, failures[:3]
    assert served[0] > 0
    # the fix is another generation: every replica leaves the failed one behind
    assert rarft(["deploy", "--registry", str(registry), "unload", "v2"]) == 0
    capsys.readouterr()
    converge(urls, before + 2)
    assert all(versions(u)["sync_error"] is None for u in urls)


def test_the_client_balances_across_replicas_and_fails_over_when_one_dies(replicas):
    _, urls, procs = replicas
    with RetrievalClient(urls, timeout_s=5.0, retries=2, backoff_s=0.01) as client:
        for i in range(9):
            assert len(client.retrieve([QUERY], k=1).results) == 1
        assert client.calls == [3, 3, 3] and client.failovers == 0
        procs[2].kill()
        procs[2].wait(timeout=10)
        for i in range(9):
            assert len(client.retrieve([QUERY], k=1).results) == 1  # never an error while two replicas live
        assert client.failovers == 1  # the dead replica is skipped during its cooldown


def _read_message(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (what httpx and uvicorn send here)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


class HoldFirstAnswer:
    """A TCP proxy to `upstream` that delivers the request but drops the first answer (a real lost response)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.forwarded = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, socket.create_connection(self.upstream) as up:
                conn.settimeout(5)
                up.sendall(_read_message(conn))
                answer = _read_message(up)  # the upstream has counted the report by now
                self.forwarded += 1
                if self.forwarded > 1:
                    conn.sendall(answer)
                else:
                    time.sleep(1.5)  # past the client's 1 s timeout: the answer is lost

    def __enter__(self) -> HoldFirstAnswer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
