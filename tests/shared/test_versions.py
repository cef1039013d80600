"""The one version store: the trainer's in-process search and the service's /retrieve give the same hits."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from shared.errors import UserError
from shared.versions import BANK_FILE, VersionError, VersionNotFound, load_version

from tests.fixtures.service import build_small_version, demo_rows


def test_in_process_hits_match_the_service(small_registry, live_server):
    version = load_version(small_registry / "v0")
    queries = [demo_rows()[0].problem, "How many ways can 6 people sit in a row?", "What is 3 times 4?"]
    exclude = [["1"], [], ["6", "7"]]
    local = version.search(queries, k=3, exclude_ids=exclude)

    url = live_server(small_registry)
    body = httpx.post(f"{url}/retrieve", json={"queries": queries, "k": 3, "exclude_ids": exclude}, timeout=30).json()
    remote = [[(h["demonstration"]["id"], h["score"]) for h in hits] for hits in body["results"]]

    assert [[version.bank[i].id for i, _ in row] for row in local] == [[bid for bid, _ in row] for row in remote]
    for row, rrow in zip(local, remote):
        assert [s for _, s in row] == pytest.approx([s for _, s in rrow], abs=1e-5)
    # The leakage guard dropped the query's own problem (d0 is row "0") and the explicit ids.
    assert "0" not in [bid for bid, _ in remote[0]] and "1" not in [bid for bid, _ in remote[0]]
    assert not {"6", "7"} & {bid for bid, _ in remote[2]}


def test_exclusions_still_leave_k_hits(small_registry):
    version = load_version(small_registry / "v0")
    hits = version.search(["What is 7 times 8?"], k=5, exclude_ids=[["0", "1", "2"]])
    assert len(hits[0]) == 5
    ids = [version.bank[i].id for i, _ in hits[0]]
    assert "6" not in ids and not {"0", "1", "2"} & set(ids)


def test_a_tampered_version_is_refused_with_one_line(small_registry, tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(small_registry, registry)
    with open(registry / "v0" / BANK_FILE, "a") as fh:
        fh.write(demo_rows("x", 1)[0].model_dump_json() + "\n")
    with pytest.raises(VersionError, match="checksum mismatch or missing file: bank.jsonl"):
        load_version(registry / "v0")


def test_not_a_version_is_a_user_error(tmp_path):
    with pytest.raises(VersionNotFound, match="is not a retriever version"):
        load_version(tmp_path)
    assert issubclass(VersionError, UserError)  # the CLI prints it as one line, without a traceback


def test_build_then_load_round_trip(tmp_path, minilm):
    path = build_small_version(tmp_path, "v9", encoder=minilm)
    version = load_version(path)
    assert version.name == "v9" and version.manifest.num_demonstrations == len(demo_rows())
    assert [d.id for d in version.bank] == [d.id for d in demo_rows()]
    assert version.encoder_dir == (path / "encoder").resolve()


@pytest.mark.parametrize("index_type, params", [("hnsw", {"hnsw_m": 16, "hnsw_ef_search": 64}),
                                                ("ivf", {"ivf_nlist": 8, "ivf_nprobe": 8}),
                                                ("ivfpq", {"ivf_nlist": 4, "ivf_nprobe": 4, "pq_m": 48})])
def test_index_types_and_parameters_round_trip(tmp_path, minilm, index_type, params):
    """Every index type is built with its parameters, recorded in the manifest, loaded and searched like flat."""
    import numpy as np

    from shared.contract import Demonstration
    from shared.versions import build_version

    n = 1100  # ivfpq's 8-bit codes train on at least 4 x 256 vectors
    rows = [Demonstration(id=f"r{i}", problem=f"problem {i}", answer=str(i)) for i in range(n)]
    vectors = np.random.default_rng(0).standard_normal((n, 384)).astype("float32")
    manifest = build_version(minilm, rows, tmp_path / "v1", index_type=index_type, index_params=params,
                             embeddings=vectors, show_progress=False)
    assert manifest.index_type == index_type and params.items() <= manifest.index_params.items()
    version = load_version(tmp_path / "v1")
    assert version.index.ntotal == n
    scores, ids = version.search_batch(["problem 3"], k=5)
    assert ids.shape == (1, 5) and (ids >= 0).all()


def test_bad_index_parameters_are_one_line(tmp_path, minilm):
    from shared.versions import build_version

    with pytest.raises(UserError, match=r"^--index-params: hnsw_m: Input should be greater than or equal to 4$"):
        build_version(minilm, demo_rows(), tmp_path / "v1", index_type="hnsw", index_params={"hnsw_m": 1},
                      show_progress=False)
    with pytest.raises(UserError, match="needs at least 1024 vectors to train"):
        build_version(minilm, demo_rows(), tmp_path / "v2", index_type="ivfpq", show_progress=False)


def test_a_version_indexes_its_documents_and_says_which(tmp_path, minilm, capsys):
    """document_text 'problem_solution' embeds question + worked solution (queries stay questions); the manifest
    records it, so distillation and evaluation embed the bank the same way."""
    import numpy as np

    from shared.cli import main
    from shared.documents import as_document
    from shared.rows import write_rows

    rows = demo_rows()
    plain = load_version(build_small_version(tmp_path, "v0", encoder=minilm))
    full = load_version(build_small_version(tmp_path, "v1", encoder=minilm, document_text="problem_solution"))
    assert plain.manifest.document_text == "problem" and full.manifest.document_text == "problem_solution"
    assert full.document(rows[0]) == f"{rows[0].problem}\n{rows[0].solution}" == as_document(rows[0], "problem_solution")
    stored = np.stack([full.index.reconstruct(i) for i in range(len(rows))])
    assert np.allclose(stored, full.encode([full.document(r) for r in rows]), atol=1e-5)
    assert not np.allclose(stored, plain.encode([r.problem for r in rows]), atol=1e-3)

    write_rows(tmp_path / "bank.jsonl", rows)  # the command's flag, echoed in its one-line summary
    assert main(["build-retriever", "--bank", str(tmp_path / "bank.jsonl"), "--out", str(tmp_path / "v2"),
                 "--document-text", "problem_solution"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["document_text"] == "problem_solution"
    assert main(["build-retriever", "--bank", str(tmp_path / "bank.jsonl"), "--out", str(tmp_path / "v3"),
                 "--document-text", "solution"]) == 2
    assert "document_text" in capsys.readouterr().err.strip().splitlines()[-1].replace("-", "_")
