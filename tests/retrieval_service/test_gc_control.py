"""The cyclic collector is paused while a version loads, what the load built is frozen, and dropping a version
gives frozen objects back to the collector."""

from __future__ import annotations

import gc
import shutil
import threading

import httpx
import pytest

from retrieval_service.gc_control import paused_collection, release_frozen
from tests.fixtures.service import build_small_version, demo_rows

TOKEN = "gc-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _restore_collector():
    yield
    gc.unfreeze()
    gc.enable()


def test_overlapping_loads_keep_the_collector_off_until_the_last_ends_then_freeze():
    gc.unfreeze()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with paused_collection():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    with paused_collection():
        second_in.set()
        first_out.wait(10)
        seen["after the first ended"] = gc.isenabled()
        assert gc.get_freeze_count() == 0  # nothing frozen while a load still runs
    thread.join(10)
    assert seen == {"after the first ended": False}
    assert gc.isenabled() and gc.get_freeze_count() > 0
    release_frozen()
    assert gc.get_freeze_count() == 0


def test_a_collector_disabled_by_the_host_stays_disabled():
    gc.disable()
    with paused_collection():
        pass
    assert not gc.isenabled()


def test_the_service_freezes_what_a_load_built_and_releases_it_on_unload(live_server, tmp_path, small_registry, minilm):
    shutil.copytree(small_registry / "v0", tmp_path / "v0")
    url = live_server(tmp_path, admin_token=TOKEN)  # in this process: the test sees the service's collector
    gc.unfreeze()
    build_small_version(tmp_path, "v1", rows=demo_rows(prefix="new-"), encoder=minilm)
    assert httpx.post(f"{url}/admin/load", json={"name": "v1"}, headers=AUTH, timeout=120).status_code == 200
    assert gc.isenabled() and gc.get_freeze_count() > 0
    # v1, newer, took all traffic; dropping v0 releases the frozen objects
    assert httpx.post(f"{url}/admin/unload", json={"name": "v0"}, headers=AUTH, timeout=120).status_code == 200
    assert gc.get_freeze_count() == 0
    r = httpx.post(url + "/retrieve", json={"queries": ["How many ways can 3 cats sit in a row?"], "k": 2}, timeout=30)
    assert r.status_code == 200 and r.json()["version"] == "v1"
