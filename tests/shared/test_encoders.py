"""Encoder backends: the ONNX Runtime export of a version's encoder answers like sentence-transformers in torch
(padding included), int8 keeps the hits, and the service serves a version on it."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from shared.versions import load_version
from shared.versions.encoders import load_encoder_backend

pytest.importorskip("onnxruntime", reason="the 'onnx' extra is not installed")

TEXTS = ["How many ways can 3 cats sit in a row?",  # short and long in one batch: the export must honour padding
         "A tank fills at 3 litres a minute and drains at 1 litre a minute; starting empty, how long until it holds "
         "48 litres, and how much has drained by then?", "x"]


@pytest.fixture(scope="module")
def torch_vectors(minilm_path):
    return load_encoder_backend(minilm_path, "cpu", "torch").encode(TEXTS, batch_size=3, normalize_embeddings=True)


def test_onnx_gives_the_torch_embeddings_in_input_order(minilm_path, torch_vectors):
    onnx = load_encoder_backend(minilm_path, "cpu", "onnx")
    together = onnx.encode(TEXTS, batch_size=3, normalize_embeddings=True)
    one_by_one = np.concatenate([onnx.encode([t], batch_size=1, normalize_embeddings=True) for t in TEXTS])
    assert together.shape == torch_vectors.shape and together.dtype == np.float32
    np.testing.assert_allclose(together, torch_vectors, atol=1e-4)
    np.testing.assert_allclose(one_by_one, torch_vectors, atol=1e-4)  # padded or not, the same vector
    assert onnx.get_embedding_dimension() == 384 and onnx.encode([], normalize_embeddings=True).shape == (0, 384)


def test_int8_stays_close_and_the_service_serves_it(small_registry, live_server, minilm_path, torch_vectors):
    int8 = load_encoder_backend(minilm_path, "cpu", "onnx-int8")
    cosines = np.sum(int8.encode(TEXTS, batch_size=3, normalize_embeddings=True) * torch_vectors, axis=1)
    assert cosines.min() > 0.97 and cosines.min() < 1 - 1e-6  # quantised: close, but not the fp32 model
    query = "How many ways can 3 cats sit in a row?"
    expected = [i for i, _ in load_version(small_registry / "v0").search([query], k=3)[0]]
    assert [i for i, _ in load_version(small_registry / "v0", encoder_backend="onnx").search([query], k=3)[0]] == expected
    url = live_server(small_registry, encoder_backend="onnx-int8")
    r = httpx.post(url + "/retrieve", json={"queries": [query], "k": 3}, timeout=30)
    assert r.status_code == 200, r.text
    assert len(r.json()["results"][0]) == 3


def test_a_backend_that_cannot_run_is_one_line(minilm_path):
    with pytest.raises(ValueError, match="CPU only"):
        load_encoder_backend(minilm_path, "cuda", "onnx")


def test_bf16_autocast_stays_close_and_is_served_where_the_cpu_has_bf16(small_registry, live_server, minilm_path,
                                                                         torch_vectors):
    from shared.versions.encoders import native_bf16

    if not native_bf16("cpu"):
        with pytest.raises(ValueError, match="^encoder backend torch-bf16 needs native bf16 on cpu"):
            load_encoder_backend(minilm_path, "cpu", "torch-bf16")
        pytest.skip("this CPU has no native bf16 (AVX512-BF16/AMX): only the refusal is testable here")
    bf16 = load_encoder_backend(minilm_path, "cpu", "torch-bf16")
    vectors = bf16.encode(TEXTS, batch_size=3, normalize_embeddings=True)
    assert vectors.dtype == np.float32 and bf16.get_embedding_dimension() == 384
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.min() > 0.99 and cosines.min() < 1 - 1e-6  # bf16 matmuls: close, but not the fp32 model
    url = live_server(small_registry, encoder_backend="torch-bf16")
    r = httpx.post(url + "/retrieve", json={"queries": [TEXTS[0]], "k": 3}, timeout=30)
    assert r.status_code == 200 and len(r.json()["results"][0]) == 3, r.text


def test_bf16_on_a_cpu_without_it_is_refused_in_one_line(minilm_path, monkeypatch):
    import shared.versions.encoders as encoders

    monkeypatch.setattr(encoders, "native_bf16", lambda device: False)  # the CPU feature cannot be removed for real
    with pytest.raises(ValueError, match=r"needs native bf16 on cpu .*use --encoder-backend torch or onnx$"):
        load_encoder_backend(minilm_path, "cpu", "torch-bf16")
