"""The shared behaviour vectors (tests/vectors/*.json) through the public Python API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Upstream
from vectorlib import matches

import modelplug

VECTORS = sorted((REPO / "tests" / "vectors").glob("*.json"))
CASES = [(f.stem, case) for f in VECTORS for case in json.loads(f.read_text())["cases"]]


def _stream_result(stream: modelplug.Stream) -> dict[str, Any]:
    text, reasoning, counts = [], [], {}
    out: dict[str, Any] = {}
    try:
        for ev in stream:
            counts[ev.type] = counts.get(ev.type, 0) + 1
            if isinstance(ev, modelplug.TextDelta):
                text.append(ev.text)
            elif isinstance(ev, modelplug.ReasoningDelta):
                reasoning.append(ev.text)
            elif isinstance(ev, modelplug.Done):
                out["response"] = ev.response.to_dict()
    except modelplug.ModelplugError as e:
        out["error"] = e.to_dict()
    out.update(text="".join(text), reasoning="".join(reasoning), event_counts=counts)
    return out


def run_case(upstream: Upstream, case: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    scenario = upstream.scenario(case["upstream"]) if "upstream" in case else None
    base = scenario[1] if scenario else upstream.url
    result: dict[str, Any]
    try:
        if "config_yaml" in case:
            path = tmp_path / "modelplug.yaml"
            path.write_text(case["config_yaml"].replace("{upstream}", base))
            client = modelplug.Client.from_config(path)
        else:
            client = modelplug.Client(config=json.loads(json.dumps(case["config"]).replace("{upstream}", base)))
    except modelplug.ModelplugError as e:
        result = {"error": e.to_dict()}
    else:
        with client:
            call, request = case["call"], case["request"]
            try:
                if call == "chat":
                    result = {"response": client.chat(request).to_dict()}
                elif call == "embed":
                    result = {"response": client.embed(request).to_dict()}
                else:
                    result = _stream_result(client.stream(request))
            except modelplug.ModelplugError as e:
                result = {"error": e.to_dict()}
                if call == "stream":
                    result["event_counts"] = {}
    if scenario:
        result["upstream_requests"] = upstream.requests(scenario[0])
    return result


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[f"{f}::{c['name']}" for f, c in CASES])
def test_vector(upstream: Upstream, case: dict[str, Any], tmp_path: Path) -> None:
    result = run_case(upstream, case, tmp_path)
    expect = case["expect"]
    matches(expect, result)
    if "error" not in expect:
        assert "error" not in result, f"unexpected error {result['error']}"


def test_every_vector_file_was_found() -> None:
    assert len(CASES) >= 80
