"""Hits as response bodies: each demonstration's JSON was serialised once at load time.

At batch 32 x k 8 a response holds 256 demonstrations, and re-validating them per request would cost more than the
search. Which rows a query gets (exclusions, width) is `shared.versions.LoadedVersion`'s, the same in process.
"""

from __future__ import annotations

import json

from shared.versions import LoadedVersion


def retrieve_json(version: LoadedVersion, rows: list[list[tuple[int, float]]], arm: str, latency_ms: float) -> bytes:
    """A RetrieveResponse body, byte-identical to `RetrieveResponse(...).model_dump_json()` in field order."""
    vname = json.dumps(version.name)
    bank = version.bank_json
    results = ",".join(
        "[" + ",".join(f'{{"demonstration":{bank[i]},"score":{float(s)!r},"version":{vname}}}' for i, s in row) + "]"
        for row in rows
    )
    return (f'{{"results":[{results}],"version":{vname},"arm":{json.dumps(arm)},'
            f'"latency_ms":{round(latency_ms, 3)!r}}}').encode()


def search_r1_document(version: LoadedVersion, i: int) -> dict:
    """Search-R1 corpus row: {"id", "contents"} where contents = '"title"\\ntext' (its clients split on the first line)."""
    demo = version.demonstration(i)
    title = demo.strategy or demo.theme or demo.id
    text = demo.problem + ("\n" + demo.solution if demo.solution else "") + f"\nAnswer: {demo.answer}"
    return {"id": demo.id, "contents": f'"{title}"\n{text}'}
