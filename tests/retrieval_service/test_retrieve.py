"""POST /retrieve, /search-r1/retrieve, health, metrics, feedback and every bad input, on real uvicorn +
real MiniLM + real FAISS (one server for the module)."""

from __future__ import annotations

import shutil

import httpx
import pytest

from shared.contract import RetrieveResponse
from shared.limits import MAX_QUERIES_PER_REQUEST, MAX_REQUEST_BYTES, MAX_TEXT_CHARS
from tests.fixtures.service import DEMO_ROWS, start_live_server

TOKEN = "s3cret-token"
D0 = DEMO_ROWS[0][1]  # "A train travels 120 km in 2 hours. ..."


@pytest.fixture(scope="module")
def url(small_registry, tmp_path_factory):
    registry = tmp_path_factory.mktemp("retrieve-registry")  # its own copy: feedback is stored in the registry
    shutil.copytree(small_registry / "v0", registry / "v0")
    server = start_live_server(registry, admin_token=TOKEN)
    yield server.url
    server.stop()


def post(url: str, body, path: str = "/retrieve") -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=30)


def test_results_per_query_in_order_with_id_score_version(url):
    queries = ["A lorry drives 200 km in 4 hours. What is its average speed in km/h?",
               "In how many different orders can 6 books stand on a shelf?"]
    r = post(url, {"queries": queries, "k": 3})
    assert r.status_code == 200, r.text
    resp = RetrieveResponse.model_validate(r.json())
    assert resp.version == "v0" and resp.arm == "v0" and len(resp.results) == 2
    for hits in resp.results:
        assert len(hits) == 3
        assert all(h.version == "v0" and h.demonstration.id for h in hits)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True) and -1.0 <= scores[-1] <= scores[0] <= 1.0001
    assert resp.results[0][0].demonstration.strategy == "rate"
    assert resp.results[1][0].demonstration.strategy == "counting"


def test_leakage_guard_drops_the_query_itself(url):
    variant = "  a TRAIN travels 120 km   in 2 hours. What is its average speed in KM/H?"
    guarded = post(url, {"queries": [variant], "k": 7}).json()["results"][0]
    assert "d0" not in [h["demonstration"]["id"] for h in guarded] and len(guarded) == 7
    open_ = post(url, {"queries": [D0], "k": 2, "exclude_same_problem": False}).json()["results"][0]
    assert open_[0]["demonstration"]["id"] == "d0" and open_[0]["score"] > 0.99


def test_exclude_ids_per_query(url):
    q = "A bus goes 90 km in 3 hours. Find its speed in km/h."
    base = [h["demonstration"]["id"] for h in post(url, {"queries": [q, q], "k": 3}).json()["results"][0]]
    r = post(url, {"queries": [q, q], "k": 3, "exclude_ids": [base[:2], []]}).json()["results"]
    got0 = [h["demonstration"]["id"] for h in r[0]]
    assert not set(base[:2]) & set(got0) and len(got0) == 3
    assert [h["demonstration"]["id"] for h in r[1]] == base


def test_k_above_bank_size_returns_what_exists(url):
    hits = post(url, {"queries": ["anything at all"], "k": 50}).json()["results"][0]
    assert len(hits) == len(DEMO_ROWS) and len({h["demonstration"]["id"] for h in hits}) == len(DEMO_ROWS)


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"queries": []}, 422, "queries"),
        ({"queries": ["q"] * (MAX_QUERIES_PER_REQUEST + 1)}, 422, "queries"),
        ({"queries": ["q"], "k": 0}, 422, "k:"),
        ({"queries": ["q"], "k": 65}, 422, "k:"),
        ({"queries": ["x" * (MAX_TEXT_CHARS + 1)]}, 422, "limit is"),
        ({"queries": ["   "]}, 422, "empty"),
        ({"queries": ["q"], "version": "nope"}, 404, "not loaded"),
        ({"queries": ["q"], "version": "../etc"}, 422, "invalid version name"),
        ({"queries": ["q", "r"], "exclude_ids": [["d0"]]}, 422, "one per query"),
        ({"queries": ["q"], "colour": "red"}, 422, "unknown field"),
        ({"k": 3}, 422, "field required"),
        (["not", "an", "object"], 422, "body"),
    ],
)
def test_bad_input_is_4xx_with_a_message(url, body, status, needle):
    r = post(url, body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and needle in detail


def test_malformed_json(url):
    r = httpx.post(url + "/retrieve", content=b'{"queries": ["a",', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]


def test_oversized_body_is_413_before_parsing(url):
    big = b'{"queries": ["' + b"x" * (MAX_REQUEST_BYTES + 10) + b'"]}'
    r = httpx.post(url + "/retrieve", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the streamed size is what counts
        for _ in range(5):
            yield b"y" * (MAX_REQUEST_BYTES // 4)

    r = httpx.post(url + "/retrieve", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_search_r1_route_shape(url):
    r = post(url, {"queries": ["How many ways can 4 books be ordered?", D0], "topk": 2, "return_scores": True},
             path="/search-r1/retrieve")
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert len(result) == 2 and all(len(row) == 2 for row in result)
    first = result[0][0]
    assert set(first) == {"document", "score"} and set(first["document"]) == {"id", "contents"}
    title, _, text = first["document"]["contents"].partition("\n")
    assert title == '"counting"' and "Answer:" in text
    assert "d0" not in [d["document"]["id"] for d in result[1]]  # leakage guard here too
    plain = post(url, {"queries": ["books"], "topk": 1}, path="/search-r1/retrieve").json()["result"]
    assert set(plain[0][0]) == {"id", "contents"}
    assert post(url, {"queries": [], "topk": 1}, path="/search-r1/retrieve").status_code == 422


def test_health_ready_docs_metrics(url):
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(url + "/readyz").json()["split"] == {"v0": 1.0}
    assert httpx.get(url + "/docs").status_code == 200
    assert "/retrieve" in httpx.get(url + "/openapi.json").json()["paths"]
    post(url, {"queries": ["q"], "k": 1})
    text = httpx.get(url + "/metrics").text
    for name in ('rarft_request_latency_seconds_bucket{le="0.002",route="/retrieve",status="200",version="v0"}',
                 'rarft_queries_served_total{version="v0"}', 'rarft_index_size{version="v0"} 8.0',
                 "rarft_swaps_total", "rarft_errors_total"):
        assert name in text, name


def test_feedback_is_aggregated_per_arm(url):
    assert post(url, {"run_id": "r", "step": 1, "rewards": {"v0": 0.5}, "counts": {"v0": 4}}, "/feedback").status_code == 200
    assert post(url, {"run_id": "r", "step": 2, "rewards": {"v0": 1.0}, "counts": {"v0": 4}}, "/feedback").status_code == 200
    fb = httpx.get(url + "/versions").json()["feedback"]["v0"]
    assert fb["mean_reward"] == pytest.approx(0.75) and fb["count"] == 8
    assert post(url, {"run_id": "r", "step": -1, "rewards": {}}, "/feedback").status_code == 422
    assert post(url, {"run_id": "r", "step": 3, "rewards": {"v0": 1.0}, "counts": {"v0": False}}, "/feedback").status_code == 422


def test_feedback_retry_counts_a_step_once(url):
    """The client retries /feedback on timeouts: a repeated (run_id, step) is acknowledged but not counted again."""
    body = {"run_id": "retry", "step": 7, "rewards": {"v-retry": 1.0}, "counts": {"v-retry": 4}}
    first = post(url, body, "/feedback").json()
    again = post(url, body, "/feedback").json()
    assert first["duplicate"] is False and again["duplicate"] is True and again["accepted"] == 0
    assert httpx.get(url + "/versions").json()["feedback"]["v-retry"]["count"] == 4
    assert post(url, {**body, "run_id": "other"}, "/feedback").json()["duplicate"] is False  # another run's step 7


def test_admin_auth(url):
    assert httpx.post(url + "/admin/rollback").status_code == 401
    r = httpx.post(url + "/admin/rollback", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and "wrong" in r.json()["detail"]
    r = httpx.post(url + "/admin/rollback", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 409 and "no previous split" in r.json()["detail"]


def test_admin_disabled_without_token(live_server, small_registry):
    url = live_server(small_registry)  # no admin token configured
    r = httpx.post(url + "/admin/promote", json={"name": "v0"}, headers={"Authorization": "Bearer anything"})
    assert r.status_code == 404 and "disabled" in r.json()["detail"]
