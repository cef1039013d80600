"""A/B weights, stickiness by routing key, pinned overrides, promote / rollback / unload."""

from __future__ import annotations

import shutil
from collections import Counter

import httpx
import pytest

from retrieval_service.ab import ABRouter, key_point
from retrieval_service.deployment import effective_split, with_load, with_rollback, with_split, with_unload
from retrieval_service.registry import VersionConflict
from shared.manifests import DeploymentManifest
from shared.versions import VersionNotFound
from tests.fixtures.service import build_small_version, demo_rows

TOKEN = "ab-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_key_point_is_stable_and_uniform():
    assert key_point("run-1/prompt-7") == key_point("run-1/prompt-7")
    points = [key_point(f"k{i}") for i in range(4000)]
    assert 0.45 < sum(p < 0.5 for p in points) / len(points) < 0.55


def test_deployment_changes_weights_stickiness_and_rollback():
    order = ["v1", "v0"]  # newest first
    d = DeploymentManifest(generation=0, versions=["v0", "v1"])
    assert effective_split(d, order) == {"v1": 1.0}
    d = with_split(d, {"v0": 3, "v1": 1}, order)
    assert d.generation == 1 and effective_split(d, order) == {"v0": 0.75, "v1": 0.25}
    ab = ABRouter()
    ab.install(d.split, d.previous_split)
    arms = Counter(ab.choose(f"key-{i}", order) for i in range(4000))
    assert 0.70 < arms["v0"] / 4000 < 0.80
    assert {ab.choose("same-key", order) for _ in range(20)} == {ab.choose("same-key", order)}
    # the arm is a pure function of (key, weights): a second router (another replica) agrees on every key
    other = ABRouter()
    other.install(d.split, None)
    assert all(other.choose(f"key-{i}", order) == ab.choose(f"key-{i}", order) for i in range(200))
    back = with_rollback(d, order)
    assert back.generation == 2 and back.split == {"v1": 1.0} and back.previous_split == {"v0": 0.75, "v1": 0.25}
    with pytest.raises(VersionNotFound):
        with_split(d, {"v9": 1.0}, order)
    with pytest.raises(VersionConflict, match="nothing|no previous"):
        with_rollback(DeploymentManifest(generation=0, versions=["v0"]), ["v0"])
    loaded = with_load(d, "v2", 0.2, order)  # the new arm takes its share, the others keep their 3:1 ratio
    assert loaded.versions == ["v0", "v1", "v2"] and loaded.split == pytest.approx({"v0": 0.6, "v1": 0.2, "v2": 0.2})
    with pytest.raises(VersionConflict, match="already deployed"):
        with_load(loaded, "v2", None, order)
    with pytest.raises(VersionConflict, match="promote another"):
        with_unload(with_split(d, {"v0": 1}, order), "v0", order)
    assert with_unload(d, "v1", order).split == {"v0": 1.0}


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory, small_registry, minilm):
    registry = tmp_path_factory.mktemp("ab-registry")
    shutil.copytree(small_registry / "v0", registry / "v0")
    build_small_version(registry, "v1", rows=demo_rows(prefix="b"), encoder=minilm)
    return registry


def arm_of(url: str, key: str | None = None, version: str | None = None) -> tuple[str, str]:
    body = {"queries": ["How fast is a train that goes 80 km in 2 hours?"], "k": 1, "routing_key": key, "version": version}
    r = httpx.post(url + "/retrieve", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["arm"], r.json()["results"][0][0]["version"]


def admin(url: str, action: str, body=None) -> httpx.Response:
    return httpx.post(f"{url}/admin/{action}", json=body, headers=AUTH, timeout=60)


def test_split_stickiness_pin_promote_rollback_unload(live_server, two_versions):
    url = live_server(two_versions, admin_token=TOKEN)
    assert arm_of(url) == ("v1", "v1")  # newest takes all traffic without a split

    r = admin(url, "split", {"weights": {"v0": 1, "v1": 1}})
    assert r.status_code == 200 and r.json()["split"] == {"v0": 0.5, "v1": 0.5}
    arms = Counter(arm_of(url, f"prompt-{i}")[0] for i in range(60))
    assert arms["v0"] >= 15 and arms["v1"] >= 15, arms
    for key in ("prompt-1", "prompt-2", "prompt-3"):
        first = arm_of(url, key)
        assert all(arm_of(url, key) == first for _ in range(4))
        assert first[0] == first[1]  # the arm is the version that produced the hits
    assert arm_of(url, "prompt-1", version="v0") == ("pinned", "v0")

    assert admin(url, "promote", {"name": "v0"}).json()["split"] == {"v0": 1.0}
    assert {arm_of(url, f"k{i}")[0] for i in range(10)} == {"v0"}
    back = admin(url, "rollback").json()
    assert back["split"] == {"v0": 0.5, "v1": 0.5} and back["previous_split"] == {"v0": 1.0}

    assert admin(url, "split", {"weights": {"v9": 1}}).status_code == 404
    assert admin(url, "split", {"weights": {"v0": 0}}).status_code == 422
    assert admin(url, "promote", {"name": "v1"}).status_code == 200
    r = admin(url, "unload", {"name": "v1"})
    assert r.status_code == 409 and "promote another" in r.json()["detail"]
    r = admin(url, "unload", {"name": "v0"})
    assert r.status_code == 200 and [v["name"] for v in r.json()["versions"]] == ["v1"]
    assert httpx.post(url + "/retrieve", json={"queries": ["q"], "version": "v0"}).status_code == 404
    r = admin(url, "unload", {"name": "v1"})
    assert r.status_code == 409 and "only loaded version" in r.json()["detail"]

    versions = httpx.get(url + "/versions").json()
    assert versions["arm_requests"]["v0"] > 0 and versions["arm_requests"]["v1"] > 0
