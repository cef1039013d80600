"""Schemathesis against the service's own OpenAPI schema, every route, valid and invalid inputs:
no server error (5xx) and every response conforming to the schema (status code, content type, body).

Bounded: RARFT_FUZZ_EXAMPLES cases per route and mode (default 25), derandomised so CI is repeatable.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.conftest import ADMIN_TOKEN

EXAMPLES = int(os.environ.get("RARFT_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(url: str, headers: dict[str, str]) -> tuple[Counter, Counter, list[str]]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    cases, statuses, failures, skipped = Counter(), Counter(), [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                response = case.call(base_url=url, headers=headers, timeout=60)
                cases[operation.label] += 1
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (FailureGroup, AssertionError) as exc:  # collect every failure, then report them all
                    found = getattr(exc, "exceptions", [exc])
                    failures.append(f"{operation.label} [{mode.value}] -> {response.status_code} "
                                    f"{response.text[:120]!r}: {'; '.join(type(e).__name__ + ': ' + str(e).splitlines()[0] for e in found)}"
                                    f" | body sent: {str(case.body)[:80]!r}")

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"no valid input could be generated for {operation.label}"
                skipped.append(operation.label)  # no parameters and no body: nothing invalid to send
    return cases, statuses, failures


@pytest.mark.parametrize("auth", ["admin-token", "no-token"])
def test_every_route_survives_fuzzing(live_server, registry, auth):
    url = live_server(registry, admin_token=ADMIN_TOKEN)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if auth == "admin-token" else {}
    cases, statuses, failures = _fuzz(url, headers)
    total = sum(cases.values())
    print(f"\nfuzz ({auth}): {total} cases over {len(cases)} operations; status counts {dict(sorted(statuses.items()))}; "
          f"{sum(n for s, n in statuses.items() if s >= 500)} server errors; {len(failures)} check failures")
    assert len(cases) >= 10, f"schema exposes only {sorted(cases)}"
    assert not any(s >= 500 for s in statuses), statuses
    kinds = Counter(f.split(" | body sent")[0].split(" -> ")[0] + " -> " + f.split(" -> ")[1][:3] + " " + f.split(": ", 1)[-1][:60] for f in failures)
    assert failures == [], "\n".join(f"{n} x {k}" for k, n in kinds.most_common()) + "\nfirst: " + failures[0]


# The rules a JSON schema cannot state (they relate two fields, or the request to the server's state). A 422 for
# schema-valid data must name one of them; any other refusal means the schema promised something the server denies.
CROSS_FIELD_RULES = ("lists for", "at least one weight must be > 0", "would track more than")


def test_schema_valid_requests_are_accepted(live_server, registry):
    """positive_data_acceptance: every request the OpenAPI schema allows gets a 2xx (or 401/403/404/409), unless it
    breaks one of CROSS_FIELD_RULES; the schema states every per-field limit the validators enforce."""
    from schemathesis.checks import positive_data_acceptance

    url = live_server(registry, admin_token=ADMIN_TOKEN)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    refused: list[str] = []
    count = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = case.call(base_url=url, headers=headers, timeout=60)
            count[operation.label] += 1
            try:
                case.validate_response(response, checks=[positive_data_acceptance, not_a_server_error])
            except (FailureGroup, AssertionError):
                if response.status_code == 422 and any(rule in response.text for rule in CROSS_FIELD_RULES):
                    return
                refused.append(f"{operation.label} -> {response.status_code} {response.text[:160]!r} | body {str(case.body)[:100]!r}")

        run()
    assert len(count) >= 10
    assert refused == [], "\n".join(refused[:10])
