"""Hot reload: load + swap under concurrent clients with zero failures; bad versions are rejected while
the old split keeps serving; memory limit; watch mode; path escapes."""

from __future__ import annotations

import json
import shutil
import threading
import time

import httpx
import numpy as np
import pytest

from shared.versions.index import build_index, write_index
from shared.artifacts import checksum_tree
from tests.fixtures.service import build_small_version, demo_rows

TOKEN = "swap-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def registry(tmp_path, small_registry):
    shutil.copytree(small_registry / "v0", tmp_path / "v0")
    return tmp_path


def admin(url, action, body=None):
    return httpx.post(f"{url}/admin/{action}", json=body, headers=AUTH, timeout=120)


def still_serves(url, version="v0"):
    r = httpx.post(url + "/retrieve", json={"queries": ["How many ways can 3 cats sit in a row?"], "k": 2}, timeout=30)
    assert r.status_code == 200 and r.json()["version"] == version, r.text


@pytest.mark.slow
def test_hot_swap_under_concurrent_clients_has_zero_failures(live_server, registry, minilm):
    url = live_server(registry, admin_token=TOKEN)
    build_small_version(registry, "v1", rows=demo_rows(prefix="new-"), encoder=minilm)
    failures: list[str] = []
    seen: list[str] = []
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = 0
            while not stop.is_set() and n < 400:  # bounded count and time
                n += 1
                try:
                    r = http.post(url + "/retrieve", json={"queries": [f"train {i} goes {n} km in 2 hours; speed?"] * 4, "k": 3})
                    body = r.json()
                    if r.status_code != 200 or {h["version"] for row in body["results"] for h in row} != {body["version"]}:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    seen.append(body["version"])
                except Exception as exc:  # a dropped connection is a failure too
                    failures.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    r = admin(url, "load", {"name": "v1"})
    assert r.status_code == 200, r.text
    assert r.json()["split"] == {"v1": 1.0}  # the newer version takes over once warm
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures[:3]
    assert "v0" in seen and "v1" in seen and seen[-1] == "v1"
    assert 'rarft_swaps_total 1.0' in httpx.get(url + "/metrics").text


def test_corrupt_and_mismatched_versions_are_rejected_old_keeps_serving(live_server, registry, minilm):
    url = live_server(registry, admin_token=TOKEN)
    # 1. a file that no longer matches its checksum
    shutil.copytree(registry / "v0", registry / "corrupt")
    with open(registry / "corrupt" / "bank.jsonl", "a") as fh:
        fh.write("\n")
    r = admin(url, "load", {"name": "corrupt"})
    assert r.status_code == 422 and "checksum" in r.json()["detail"]
    still_serves(url)
    # 2. index dimension != encoder dimension (checksums consistent, so only the dim check catches it)
    bad = registry / "baddim"
    shutil.copytree(registry / "v0", bad)
    write_index(build_index(np.random.default_rng(0).normal(size=(8, 16)).astype("float32")), bad / "index.faiss")
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest.update(dim=16, files=checksum_tree(bad))
    (bad / "manifest.json").write_text(json.dumps(manifest))
    r = admin(url, "load", {"name": "baddim"})
    assert r.status_code == 422 and "does not match index dimension 16" in r.json()["detail"]
    # 3. unknown, escaping and duplicate names
    assert admin(url, "load", {"name": "missing"}).status_code == 404
    assert admin(url, "load", {"name": "../v0"}).status_code == 422
    (registry / "escape").symlink_to(registry.parent)
    assert admin(url, "load", {"name": "escape"}).status_code == 404
    assert admin(url, "load", {"name": "v0"}).status_code == 409
    still_serves(url)
    versions = httpx.get(url + "/versions").json()
    assert versions["split"] == {"v0": 1.0} and set(versions["rejected"]) == {"corrupt", "baddim"}


def test_memory_limit_refuses_a_load(live_server, registry, minilm):
    url = live_server(registry, admin_token=TOKEN, memory_limit_mb=150)  # one MiniLM version is ~87 MB
    build_small_version(registry, "v1", encoder=minilm)
    r = admin(url, "load", {"name": "v1"})
    assert r.status_code == 409 and "memory limit" in r.json()["detail"]
    still_serves(url)


def test_watch_mode_loads_a_new_version(live_server, registry, minilm):
    url = live_server(registry, admin_token=TOKEN, watch=True, watch_interval_s=0.2)
    build_small_version(registry, "v2", rows=demo_rows(prefix="w"), encoder=minilm)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and httpx.get(url + "/versions").json()["split"] != {"v2": 1.0}:
        time.sleep(0.2)
    still_serves(url, "v2")


def test_empty_registry_is_not_ready_until_a_load(live_server, tmp_path, small_registry):
    url = live_server(tmp_path, admin_token=TOKEN, wait_ready=False)
    assert httpx.get(url + "/readyz").status_code == 503
    r = httpx.post(url + "/retrieve", json={"queries": ["q"]})
    assert r.status_code == 503 and "readyz" in r.json()["detail"]
    shutil.copytree(small_registry / "v0", tmp_path / "v0")
    assert admin(url, "load", {"name": "v0", "weight": 1.0}).status_code == 200
    still_serves(url)


def test_a_registry_the_service_cannot_write_refuses_changes_and_keeps_serving(live_server, registry):
    """docs/service.md: on a registry the service cannot write, changes answer 409 and feedback 503, while the
    startup versions keep serving. Root ignores a read-only mode, so the write fails for real another way: the
    lock file and the feedback store are directories, and opening either for writing fails (EISDIR)."""
    url = live_server(registry, admin_token=TOKEN)
    (registry / ".deployment.lock").mkdir()
    (registry / "feedback.sqlite").mkdir()
    for action, body in (("split", {"weights": {"v0": 1}}), ("unload", {"name": "v0"}), ("promote", {"name": "v0"})):
        r = admin(url, action, body)
        assert r.status_code == 409, (action, r.text)
        assert "cannot record the deployment" in r.json()["detail"] and "read-write" in r.json()["detail"]
    assert not (registry / "deployment.json").exists()  # nothing half-recorded
    r = httpx.post(url + "/feedback", json={"run_id": "ro", "step": 1, "rewards": {"v0": 0.5}, "counts": {"v0": 2}}, timeout=30)
    assert r.status_code == 503 and "feedback store" in r.json()["detail"], r.text
    versions = httpx.get(url + "/versions").json()
    assert versions["split"] == {"v0": 1.0} and versions["generation"] == 0 and versions["feedback"] == {}
    still_serves(url)
