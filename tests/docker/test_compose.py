"""The compose stack for real: build both images, `up` the service, train against it from the trainer
container, hot-deploy a second version through the registry volume and the admin route, tear down clean.

Needs a Docker engine and the air-gapped build inputs (`docker/ci-setup.sh` as root prepares both); skips
with the reason otherwise. Marked `docker` and `slow`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid

import pytest

from trainer.experiment.service import free_port

from tests.docker.engine import (
    APP_UID,
    BASE_IMAGE,
    IMAGES,
    REPO,
    ComposeProject,
    build_image,
    compose_command,
    engine_or_reason,
    put_into_volume,
    volume_files,
    wait_healthy,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def engine():
    client, reason = engine_or_reason()
    if client is None:
        pytest.skip(reason)
    cmd = compose_command()
    if cmd is None:
        pytest.skip("no compose CLI: install Debian's docker-compose (or the compose v2 plugin); docker/ci-setup.sh does")
    base = os.environ.get("RARFT_TEST_BASE_IMAGE", BASE_IMAGE)
    if not client.images.list(name=base):
        proc = subprocess.run([str(REPO / "docker/build-base-image.sh")], env={**os.environ, "RARFT_BASE_IMAGE": base},
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"base image {base} missing and docker/build-base-image.sh failed: {proc.stderr[-500:]}")
    if not (REPO / "docker/wheelhouse/requirements-trainer.txt").exists():
        proc = subprocess.run([str(REPO / "docker/wheelhouse.sh")], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"wheelhouse missing and docker/wheelhouse.sh failed: {proc.stderr[-500:]}")
    return client, cmd, base


@pytest.fixture(scope="module")
def images(engine):
    """Both images, built with the SDK (layer cache makes a rebuild after a code edit take seconds)."""
    client, _, base = engine
    measured = {}
    for tag, dockerfile in IMAGES.items():
        seconds, size = build_image(client, tag, dockerfile, base)
        measured[tag] = (seconds, size)
        print(f"image {tag}: built in {seconds:.0f} s, {size / 1e6:.0f} MB")
    return measured



@pytest.fixture
def stack(engine, images, tmp_path, tiny_data, tiny_policy):
    """A compose project (unique name) whose volumes hold the tiny benchmark, policy and retriever v0."""
    from tests.fixtures.service import build_small_version, demo_rows

    client, cmd, _ = engine
    name = f"rarfttest{uuid.uuid4().hex[:8]}"
    token = secrets.token_urlsafe(24)
    port, port_2 = free_port(), free_port()
    env_file = tmp_path / ".env"
    env_file.write_text(f"RARFT_ADMIN_TOKEN={token}\nRARFT_PORT={port}\nRARFT_PORT_2={port_2}\nBASE_IMAGE={engine[2]}\n"
                        "RARFT_RETRIEVAL_URLS=http://retrieval:8000,http://retrieval-2:8000\n")
    registry = tmp_path / "registry"
    build_small_version(registry, "v0-semantic", rows=demo_rows("a"))
    build_small_version(registry, "v1-distilled", rows=demo_rows("b"))

    project = ComposeProject(client=client, name=name, env_file=env_file, cmd=cmd)
    before = project.snapshot()
    labels = lambda vol: {"com.docker.compose.project": name, "com.docker.compose.volume": vol}  # noqa: E731
    try:
        for vol in ("registry", "outputs"):
            client.volumes.create(f"{name}_{vol}", labels=labels(vol))
        # v0 into the registry now; v1 later, while the service runs (the hot deploy under test).
        put_into_volume(client, f"{name}_registry", "rarft-trainer:latest", {"v0-semantic": registry / "v0-semantic"})
        put_into_volume(client, f"{name}_outputs", "rarft-trainer:latest", {"data": tiny_data, "policy": tiny_policy})
        yield project, token, (port, port_2), registry
    finally:
        project.down()
        left = project.leftovers(before)
        print("\n".join(project.log[-6:]))
        assert left == {"containers": [], "networks": [], "volumes": []}, f"left behind after down: {left}"


def test_compose_stack_end_to_end(stack, engine):
    import httpx

    project, token, (port, port_2), registry = stack
    client = engine[0]
    url, url_2 = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port_2}"

    # init sees the artifacts in the volumes and skips every step; both replicas (the `replicas` profile's
    # retrieval-2 too) wait for it, then for health.
    t0 = time.monotonic()
    project.run("up", "--detach", "retrieval", "retrieval-2", timeout=300)
    (service,) = project.containers("retrieval")
    (replica,) = project.containers("retrieval-2")
    for container in (service, replica):
        assert wait_healthy(container, timeout=180) == "healthy", container.logs(tail=50).decode(errors="replace")
    print(f"stack up and healthy in {time.monotonic() - t0:.0f} s")
    (init,) = project.containers("init")
    assert init.attrs["State"]["ExitCode"] == 0 and b"skip:" in init.logs()

    # Published on loopback only, and answering there.
    bindings = service.attrs["HostConfig"]["PortBindings"]["8000/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    r = httpx.post(f"{url}/retrieve", json={"queries": ["A bus drives 90 km in 3 hours. What is its speed?"], "k": 2}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "v0-semantic" and len(body["results"][0]) == 2
    assert all(hit["demonstration"]["id"].startswith("a") for hit in body["results"][0])

    # Non-root, in the image and in the running process.
    for tag in IMAGES:
        assert client.images.get(tag).attrs["Config"]["User"] == "rarft"
    code, out = service.exec_run(["python", "-c", "import os; print(os.getuid(), os.geteuid())"])
    assert code == 0 and out.decode().split() == [str(APP_UID), str(APP_UID)]

    # The trainer container trains a few steps against both replicas (RARFT_RETRIEVAL_URLS), by service URL.
    t0 = time.monotonic()
    proc = project.run(
        "run", "--rm", "-T", "trainer",
        "rarft", "train", "--model", "/data/outputs/policy", "--train", "/data/outputs/data/train.jsonl",
        "--retrieval-url", "http://retrieval:8000,http://retrieval-2:8000", "--output-dir", "/data/outputs/runs/docker-test",
        "--max-steps", "2", "--num-generations", "2", "--per-device-train-batch-size", "4",
        "--max-completion-length", "24", "--demo-budget-tokens", "400", "--retrieval-k", "2",
        "--save-steps", "2", "--report-to", "none", "--disable-tqdm", "true",
        timeout=900,
    )
    files = volume_files(client, f"{project.name}_outputs", "rarft-trainer:latest", "runs/docker-test")
    assert any(f.endswith("trainer_state.json") for f in files), (files, proc.stdout[-2000:])
    print(f"trainer container: 2 GRPO steps against both replicas in {time.monotonic() - t0:.0f} s")
    for u in (url, url_2):  # the client takes turns between the replicas
        assert httpx.get(f"{u}/versions", timeout=10).json()["arm_requests"].get("v0-semantic", 0) >= 1

    # Hot deploy: v1 lands in the registry volume, then the admin route (via `rarft deploy` in the
    # deploy job's container) loads and promotes it; the service never restarts.
    started_at = service.attrs["State"]["StartedAt"]
    put_into_volume(client, f"{project.name}_registry", "rarft-trainer:latest", {"v1-distilled": registry / "v1-distilled"})
    assert httpx.post(f"{url}/admin/load", json={"name": "v1-distilled"}, timeout=10).status_code == 401
    assert httpx.post(f"{url}/admin/load", json={"name": "v1-distilled"}, timeout=10,
                      headers={"Authorization": "Bearer wrong"}).status_code == 403
    t0 = time.monotonic()
    project.run("run", "--rm", "-T", "deploy", "load", "v1-distilled", timeout=300)
    project.run("run", "--rm", "-T", "deploy", "promote", "v1-distilled", timeout=300)
    versions = httpx.get(f"{url}/versions", timeout=10).json()
    assert {v["name"] for v in versions["versions"]} >= {"v0-semantic", "v1-distilled"}
    assert versions["split"].get("v1-distilled") == pytest.approx(1.0)
    r = httpx.post(f"{url}/retrieve", json={"queries": ["How many ways can 6 people sit in a row?"], "k": 2}, timeout=30)
    assert r.json()["version"] == "v1-distilled"
    assert all(hit["demonstration"]["id"].startswith("b") for hit in r.json()["results"][0])
    print(f"hot deploy of v1 through the registry volume + admin route: {time.monotonic() - t0:.0f} s")
    # the other replica follows the registry's deployment within its sync interval
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and httpx.get(f"{url_2}/versions", timeout=10).json()["generation"] != versions["generation"]:
        time.sleep(0.2)
    assert httpx.get(f"{url_2}/versions", timeout=10).json()["split"] == versions["split"]
    service.reload()
    assert service.attrs["State"]["StartedAt"] == started_at and service.attrs["RestartCount"] == 0

    # No secret in any container's log.
    for container in project.containers():
        logs = container.logs()
        assert token.encode() not in logs, f"admin token leaked into the logs of {container.name}"


TINY_STUDY = {  # the default `up`, shrunk through the stage-argument variables of .env
    "RARFT_DATA_ARGS": "--bank-size 120 --train-size 60 --rl-size 12 --dev-size 12 --test-size 12 --no-semantic-check",
    "RARFT_POLICY_ARGS": "--vocab-size 512 --hidden-size 64 --num-hidden-layers 2 --num-attention-heads 2 "
                         "--num-key-value-heads 1 --intermediate-size 192 --epochs 1 --batch-size 8 --skip-eval --no-progress",
    "RARFT_LABEL_ARGS": "--num-queries 6 --num-semantic 2 --num-random 3 --no-progress",
    "RARFT_DISTILL_ARGS": "--epochs 1 --variants kl --no-progress",
    "RARFT_TRAIN_ARGS": "--max-steps 2 --num-generations 2 --per-device-train-batch-size 4 --max-completion-length 24 "
                        "--report-to none --save-steps 2",
    "RARFT_EVAL_ARGS": "--k 1 --limit 4 --max-new-tokens 32",
}


def test_default_up_runs_the_study_end_to_end(engine, images, tmp_path):
    """`docker compose up` as a user runs it (tiny sizes): init -> retrieval healthy -> trainer labels,
    distils v1 into the registry volume, hot-deploys it, trains against the service and evaluates."""
    import httpx

    client, cmd, base = engine
    name = f"rarftstudy{uuid.uuid4().hex[:8]}"
    token, port = secrets.token_urlsafe(24), free_port()
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {"RARFT_ADMIN_TOKEN": token, "RARFT_PORT": port,
                                                          "BASE_IMAGE": base, **TINY_STUDY}.items()))
    project = ComposeProject(client=client, name=name, env_file=env_file, cmd=cmd)
    before = project.snapshot()
    try:
        t0 = time.monotonic()
        project.run("up", "--detach", timeout=900)  # returns once init finished and the others started
        (trainer,) = project.containers("trainer")
        result = trainer.wait(timeout=1200)
        logs = trainer.logs().decode(errors="replace")
        assert result["StatusCode"] == 0, logs[-3000:]
        print(f"default `up` (tiny sizes) ran the study in {time.monotonic() - t0:.0f} s")
        for stage in ("labelling", "distilling v1-distilled", "deploying v1-distilled", "RA-RFT training", "evaluating", "study done"):
            assert stage in logs, f"stage {stage!r} missing from the trainer log"
        files = volume_files(client, f"{name}_outputs", "rarft-trainer:latest", "runs")
        assert any(f.endswith("eval/ra-rft/results.json") for f in files), files
        versions = httpx.get(f"http://127.0.0.1:{port}/versions", timeout=10).json()
        assert versions["split"] == {"v1-distilled": 1.0}, versions["split"]
        for container in project.containers():
            assert token.encode() not in container.logs(), f"admin token leaked into the logs of {container.name}"
    finally:
        project.down()
        left = project.leftovers(before)
        assert left == {"containers": [], "networks": [], "volumes": []}, f"left behind after down: {left}"
