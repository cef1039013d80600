"""/metrics counts every answer by route template, status and version, errors too, with their latency."""

from __future__ import annotations

import re

import httpx


def _count(text: str, route: str, status: int) -> float:
    """Observations of rarft_request_latency_seconds for (route, status), over every version label."""
    pattern = re.compile(r'^rarft_request_latency_seconds_count\{(?P<labels>[^}]*)\} (?P<value>\S+)$', re.M)
    total = 0.0
    for m in pattern.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
        if labels["route"] == route and labels["status"] == str(status):
            total += float(m["value"])
    return total


def _errors(text: str, route: str, status: int) -> float:
    m = re.search(rf'^rarft_errors_total\{{route="{re.escape(route)}",status="{status}"\}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def test_every_error_status_shows_up_in_metrics(small_registry, live_server):
    url = live_server(small_registry, admin_token="secret", max_request_bytes=2048)
    ok = httpx.post(f"{url}/retrieve", json={"queries": ["What is 2 plus 2?"], "k": 1})
    assert ok.status_code == 200
    answers = {
        401: httpx.post(f"{url}/admin/rollback"),
        403: httpx.post(f"{url}/admin/rollback", headers={"Authorization": "Bearer wrong"}),
        404: httpx.post(f"{url}/retrieve", json={"queries": ["q"], "k": 1, "version": "nope"}),
        413: httpx.post(f"{url}/retrieve", json={"queries": ["x" * 4096], "k": 1}),
        422: httpx.post(f"{url}/retrieve", json={"queries": [], "k": 1}),
    }
    assert {status: r.status_code for status, r in answers.items()} == {s: s for s in answers}
    unknown = httpx.get(f"{url}/no/such/path")
    assert unknown.status_code == 404

    text = httpx.get(f"{url}/metrics").text
    assert _count(text, "/retrieve", 200) == 1
    assert 'route="/retrieve",status="200",version="v0"' in text  # the version that answered is a label
    for status, route in ((401, "/admin/rollback"), (403, "/admin/rollback"), (404, "/retrieve"),
                          (413, "/retrieve"), (422, "/retrieve")):
        assert _count(text, route, status) == 1, (route, status)
        assert _errors(text, route, status) == 1, (route, status)
    assert _count(text, "unmatched", 404) == 1  # raw paths never become labels
    assert "/no/such/path" not in text
