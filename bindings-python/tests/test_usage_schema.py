"""Usage events against the collector's contract, schema/usage-event.schema.json (checked
with the `jsonschema` package): a representative set of vector cases — a chat and a stream
that succeed, calls that fail, calls given up — covers every status. (Each vector case's own
events are checked in test_vectors.py too.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Upstream
from test_vectors import CASES, run_case
from vectorlib import usage_schema_errors


def _first(pick: Any) -> dict[str, Any]:
    return next(case for _, case in CASES if pick(case))


def _representative() -> list[dict[str, Any]]:
    built = lambda c: "config" in c or "config_yaml" in c  # noqa: E731
    fails = lambda c: "error" in c["expect"] and "usage" in c["expect"] and c["expect"]["usage"] != []  # noqa: E731
    return [
        _first(lambda c: c["call"] == "chat" and built(c) and "error" not in c["expect"] and "cancel" not in c),
        _first(lambda c: c["call"] == "stream" and built(c) and "error" not in c["expect"] and "cancel" not in c),
        _first(lambda c: c["call"] == "chat" and built(c) and fails(c)),
        _first(lambda c: c["call"] == "stream" and built(c) and fails(c)),
        *[case for _, case in CASES if "cancel" in case],
    ]


def test_usage_events_match_the_json_schema(upstream: Upstream, tmp_path: Path) -> None:
    events = [e for case in _representative() for e in run_case(upstream, case, tmp_path)["usage"]]
    assert {(e["status"], e["stream"]) for e in events} >= {
        ("ok", False), ("ok", True), ("error", False), ("error", True), ("cancelled", False), ("cancelled", True),
    }
    assert {e["operation"] for e in events} >= {"chat", "embeddings"}
    assert usage_schema_errors(events) == []
    # The check is not vacuous: a broken event is reported.
    broken = {**events[0], "status": "lost", "input_tokens": -1}
    del broken["sdk"]
    problems = usage_schema_errors([broken])
    assert len(problems) == 3 and all(p.startswith("event 0:") for p in problems), problems
