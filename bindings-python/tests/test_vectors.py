"""The shared behaviour vectors (tests/vectors/*.json) through the public Python API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Upstream
from vectorlib import expand_providers, matches, usage_schema_errors

import modelplug

VECTORS = sorted((REPO / "tests" / "vectors").glob("*.json"))
CASES = [(f.stem, case) for f in VECTORS for case in expand_providers(json.loads(f.read_text())["cases"])]


def _floats(value: Any) -> Any:
    """The request with every ``{"$float": "NaN"}`` (or ``"Infinity"``, ``"-Infinity"``) made
    the Python float it stands for."""
    if isinstance(value, dict):
        if len(value) == 1 and "$float" in value:
            return float(value["$float"])
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


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


def _stream_given_up(stream: modelplug.Stream, after_events: int) -> dict[str, Any]:
    """Reads ``after_events`` events, then stops: ``break`` and ``close()``."""
    read, text = 0, []
    try:
        for ev in stream:
            if isinstance(ev, modelplug.TextDelta):
                text.append(ev.text)
            read += 1
            if read >= after_events:
                break
    except modelplug.ModelplugError:
        pass
    stream.close()
    return {"cancelled": True, "events_read": read, "text": "".join(text)}


def _call_given_up(start: Callable[[], Awaitable[Any]], after_ms: int) -> dict[str, Any]:
    """Runs the awaitable call as an asyncio task and cancels the task ``after_ms`` later
    (the call's own outcome if it ended first)."""

    async def main() -> dict[str, Any]:
        task = asyncio.ensure_future(start())
        done, _ = await asyncio.wait([task], timeout=after_ms / 1000)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return {"cancelled": True}
        try:
            return {"response": task.result().to_dict()}
        except modelplug.ModelplugError as e:
            return {"error": e.to_dict()}

    return asyncio.run(main())


def _call(client: modelplug.Client, case: dict[str, Any]) -> dict[str, Any]:
    call, request, cancel = case["call"], _floats(case["request"]), case.get("cancel")
    try:
        if cancel and call == "stream":
            return _stream_given_up(client.stream(request), cancel["after_events"])
        if cancel:
            start = client.achat if call == "chat" else client.aembed
            return _call_given_up(lambda: start(request), cancel["after_ms"])
        if call == "chat":
            return {"response": client.chat(request).to_dict()}
        if call == "embed":
            return {"response": client.embed(request).to_dict()}
        return _stream_result(client.stream(request))
    except modelplug.ModelplugError as e:
        result: dict[str, Any] = {"error": e.to_dict()}
        if call == "stream":
            result["event_counts"] = {}
        return result


def _usage(client: modelplug.Client, cancelled: bool) -> list[dict[str, Any]]:
    """The client's usage events as dicts (the native list: ``Client.usage()`` is a DataFrame
    when pandas is installed). A cancelled call is recorded when its task is dropped, which
    may lag the cancellation: then wait (up to 5 s) for the first event."""
    deadline = time.monotonic() + 5
    while cancelled and not client._native.usage() and time.monotonic() < deadline:
        time.sleep(0.01)
    return client._native.usage()


def _decide(behaviour: dict[str, Any], check: modelplug.GuardrailInput) -> modelplug.Verdict | str | None:
    """What a vector's custom guardrail answers (tests/vectors/README.md, `custom_guardrails`)."""
    if "raise" in behaviour:
        raise RuntimeError(behaviour["raise"])
    if "block_if_contains" in behaviour:
        return "block" if any(behaviour["block_if_contains"] in t for t in check.texts) else None
    if "warn_if_contains" in behaviour:
        return modelplug.Verdict.warn() if any(behaviour["warn_if_contains"] in t for t in check.texts) else "pass"
    if "redact" in behaviour:
        old, new = behaviour["redact"]["from"], behaviour["redact"]["to"]
        if any(old in t for t in check.texts):
            return modelplug.Verdict.redact([t.replace(old, new) for t in check.texts])
        return modelplug.Verdict.pass_()
    if behaviour.get("warn"):
        return "warn"
    return None


def _custom_guardrails(case: dict[str, Any]) -> list[modelplug.Guardrail]:
    """The case's custom guardrails as Python checks: a coroutine function for `async`, else a
    plain (blocking) function."""
    out = []
    for spec in case.get("custom_guardrails", ()):
        behaviour: dict[str, Any] = spec["behaviour"]
        sleep_s = behaviour.get("sleep_ms", 0) / 1000

        def sync_check(check: modelplug.GuardrailInput, b: dict[str, Any] = behaviour, s: float = sleep_s) -> Any:
            if s:
                time.sleep(s)
            return _decide(b, check)

        async def async_check(check: modelplug.GuardrailInput, b: dict[str, Any] = behaviour, s: float = sleep_s) -> Any:
            if s:
                await asyncio.sleep(s)
            return _decide(b, check)

        check = async_check if spec.get("async") else sync_check
        out.append(modelplug.Guardrail(spec["name"], check, stage=spec["stage"], timeout_ms=spec.get("timeout_ms", 1000),
                                       fail=spec.get("fail", "closed")))
    return out


def run_case(upstream: Upstream, case: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    scenario = upstream.scenario(case["upstream"]) if "upstream" in case else None
    base = scenario[1] if scenario else upstream.url
    result: dict[str, Any]
    guardrails = _custom_guardrails(case)
    try:
        if "config_yaml" in case:
            path = tmp_path / "modelplug.yaml"
            path.write_text(case["config_yaml"].replace("{upstream}", base))
            client = modelplug.Client.from_config(path, guardrails=guardrails)
        else:
            config = json.loads(json.dumps(case["config"]).replace("{upstream}", base))
            client = modelplug.Client(config=config, guardrails=guardrails)
    except modelplug.ModelplugError as e:
        result = {"error": e.to_dict(), "usage": []}
    else:
        try:
            result = _call(client, case)
            result["usage"] = _usage(client, "cancel" in case)
        finally:
            client.close()
    if scenario:
        # A cancelled call's connection is seen closed only at the mock's next write.
        read = upstream.settled_requests if "cancel" in case else upstream.requests
        result["upstream_requests"] = read(scenario[0])
    return result


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[f"{f}::{c['name']}" for f, c in CASES])
def test_vector(upstream: Upstream, case: dict[str, Any], tmp_path: Path) -> None:
    result = run_case(upstream, case, tmp_path)
    expect = case["expect"]
    matches(expect, result)
    if "error" not in expect:
        assert "error" not in result, f"unexpected error {result['error']}"
    invalid = usage_schema_errors(result["usage"])
    assert invalid == [], invalid


def test_every_vector_file_was_found() -> None:
    assert len(CASES) >= 80
