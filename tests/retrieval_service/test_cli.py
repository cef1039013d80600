"""`rarft build-retriever`, `rarft deploy`, `rarft serve` and the FAISS index types."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from shared.versions.index import build_index, search
from shared.artifacts import verify_checksums
from shared.cli import main as rarft
from shared.manifests import RetrieverManifest
from tests.fixtures.service import build_small_version, demo_rows

TOKEN = "deploy-token"


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivf"])
def test_index_types_find_each_vector_itself(index_type):
    vecs = np.random.default_rng(0).normal(size=(2000, 32)).astype("float32")
    index = build_index(vecs, index_type)
    scores, ids = search(index, vecs[:50] / np.linalg.norm(vecs[:50], axis=1, keepdims=True), 3)
    assert (ids[:, 0] == np.arange(50)).mean() >= 0.9 and scores[:, 0].max() <= 1.0001


def test_a_gpu_index_without_faiss_gpu_is_one_line_before_serving(small_registry, capsys):
    """faiss-cpu (this install) has no GPU code: asking for the GPU index fails before the service starts; the
    default CPU index is what every other test serves."""
    from shared.versions.index import faiss_gpus, to_index_device

    if faiss_gpus():
        pytest.skip("this faiss sees a GPU; the refusal is for CPU-only builds")
    assert rarft(["serve", "--registry", str(small_registry), "--index-device", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "--index-device gpu: the installed faiss sees no GPU" in err and len(err.strip().splitlines()) == 1
    index = build_index(np.eye(4, dtype=np.float32))
    assert to_index_device(index, "cpu") is index


def test_build_retriever_cli_writes_a_checked_version(tmp_path, capsys):
    bank = tmp_path / "bank.jsonl"
    bank.write_text("".join(r.model_dump_json() + "\n" for r in demo_rows()))
    out = tmp_path / "registry" / "v0-semantic"
    assert rarft(["build-retriever", "--bank", str(bank), "--out", str(out), "--batch-size", "4"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["num_demonstrations"] == 8 and printed["dim"] == 384
    manifest = RetrieverManifest.model_validate_json((out / "manifest.json").read_text())
    assert manifest.name == "v0-semantic" and manifest.encoder_path == "encoder"
    assert {"bank.jsonl", "index.faiss", "encoder/modules.json"} <= set(manifest.files)
    assert verify_checksums(out, manifest.files) == []
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp dir left behind

    assert rarft(["build-retriever", "--bank", str(bank), "--out", str(out)]) == 2  # exists
    assert "already exists" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "problem": "p"}\n')
    assert rarft(["build-retriever", "--bank", str(bad), "--out", str(tmp_path / "registry" / "v1")]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert not (tmp_path / "registry" / "v1").exists()


def test_deploy_cli(live_server, small_registry, tmp_path, minilm, capsys):
    shutil.copytree(small_registry / "v0", tmp_path / "v0")
    url = live_server(tmp_path, admin_token=TOKEN)
    build_small_version(tmp_path, "v1", rows=demo_rows(prefix="b"), encoder=minilm)
    base = ["deploy", "--url", url, "--token", TOKEN]

    assert rarft(base + ["load", "v1", "--weight", "0.25"]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == {"v0": 0.75, "v1": 0.25}
    assert rarft(base + ["split", "v0=1", "v1=1"]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == {"v0": 0.5, "v1": 0.5}
    assert rarft(base + ["promote", "v1"]) == 0
    capsys.readouterr()
    assert rarft(base + ["rollback"]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == {"v0": 0.5, "v1": 0.5}
    assert rarft(["deploy", "--url", url, "status"]) == 0
    assert [v["name"] for v in json.loads(capsys.readouterr().out)["versions"]] == ["v1", "v0"]

    assert rarft(base + ["split", "v0"]) == 2
    assert "NAME=WEIGHT" in capsys.readouterr().err
    assert rarft(["deploy", "--url", url, "--token", "nope", "promote", "v0"]) == 2
    assert "403" in capsys.readouterr().err
    assert rarft(base + ["load", "ghost"]) == 2
    assert "no version 'ghost'" in capsys.readouterr().err
    os.environ.pop("RARFT_ADMIN_TOKEN", None)
    assert rarft(["deploy", "--url", url, "rollback"]) == 2
    assert "need a token" in capsys.readouterr().err
    assert rarft(["deploy", "--url", "http://127.0.0.1:9", "status"]) == 2
    assert "cannot reach" in capsys.readouterr().err


@pytest.mark.slow
def test_rarft_serve_subprocess_answers_retrieve(small_registry, tmp_path):
    assert rarft(["serve", "--registry", str(tmp_path / "missing")]) == 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RARFT_ADMIN_TOKEN": ""}
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--registry", str(small_registry),
                             "--port", str(port), "--log-level", "warning"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # generous: a loaded 2-core CI box imports torch slowly
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        r = httpx.post(url + "/retrieve", json={"queries": ["How many ways can 3 books be arranged?"], "k": 2})
        assert r.status_code == 200 and r.json()["results"][0][0]["demonstration"]["id"] == "d2"
        assert httpx.post(url + "/admin/rollback", headers={"Authorization": "Bearer x"}).status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
