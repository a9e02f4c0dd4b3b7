"""Usage leaving the process: ``on_usage`` (events as dicts, exceptions contained), ``flush`` /
``aflush``, the flush at interpreter exit (a child process that never closes its client), and
the caller's OpenTelemetry trace context on events."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Upstream
from opentelemetry import trace as otel_trace  # the API and SDK are test dependencies
from opentelemetry.sdk.trace import TracerProvider
from vectorlib import usage_schema_errors

import modelplug

MODELS = [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]
HI = [{"role": "user", "content": "hi"}]


def collector_config(url: str, spool: Path, flush_interval_ms: int = 3_600_000) -> dict[str, Any]:
    """A config reporting to ``url``. The default interval is an hour: only a flush (or a
    close) can have sent what the receiver got."""
    return {
        "app": "delivery-tests",
        "collector": {"url": url, "key": "k", "spool_dir": str(spool), "flush_interval_ms": flush_interval_ms},
        "models": MODELS,
    }


def test_on_usage_gets_every_event_as_a_dict() -> None:
    seen: list[dict[str, Any]] = []
    client = modelplug.Client({"app": "cb", "models": MODELS}, on_usage=seen.append)
    client.chat(model="m", messages=HI, metadata={"labels": {"experiment": "exp-42"}})
    assert [e.type for e in client.stream(model="m", messages=HI)][-1] == "done"
    client.embed(model="m", input=["a", "b"])
    client.flush()
    assert [(e["operation"], e["stream"]) for e in seen] == [("chat", False), ("chat", True), ("embeddings", False)]
    assert seen[0]["labels"] == {"experiment": "exp-42"}
    # The same dicts as usage() rows, and valid against the collector's contract.
    assert seen == client._native.usage()
    assert usage_schema_errors(seen) == []
    client.close()


def test_on_usage_from_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "modelplug.yaml"
    path.write_text("app: from-file\nmodels:\n  - name: m\n    deployments: [{provider: mock, model: echo}]\n")
    seen: list[dict[str, Any]] = []
    with modelplug.Client.from_config(path, on_usage=seen.append) as client:
        client.chat(model="m", messages=HI)
    # close() flushes: the event reached the callback before it returned.
    assert [e["app"] for e in seen] == ["from-file"]


def test_an_exception_in_on_usage_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    calls: list[str] = []

    def explode(event: dict[str, Any]) -> None:
        calls.append(event["id"])
        raise ValueError("the callback broke")

    client = modelplug.Client({"models": MODELS}, on_usage=explode)
    for _ in range(3):
        assert client.chat(model="m", messages=HI).text == "hi"
    client.flush()
    assert len(calls) == 3  # every event still arrived
    assert len(reported) == 3
    assert all(isinstance(r.exc_value, ValueError) and r.object is explode for r in reported)
    # A later call and its callback work as before.
    client.chat(model="m", messages=HI)
    client.flush()
    assert len(calls) == 4
    client.close()


def test_on_usage_must_be_callable() -> None:
    with pytest.raises(TypeError, match="on_usage must be callable"):
        modelplug.Client(on_usage="print")  # type: ignore[arg-type]


def test_flush_delivers_to_the_collector(upstream: Upstream, tmp_path: Path) -> None:
    rid, url = upstream.receiver()
    client = modelplug.Client(collector_config(url, tmp_path))
    for _ in range(5):
        client.chat(model="m", messages=HI)
    client.flush(timeout=10)
    received = upstream.received(rid)
    assert len(received["events"]) == 5 and received["duplicates"] == 0
    assert {e["id"] for e in received["events"]} == {e["id"] for e in client._native.usage()}
    client.close()


def test_aflush_delivers_to_the_collector(upstream: Upstream, tmp_path: Path) -> None:
    rid, url = upstream.receiver()
    seen: list[dict[str, Any]] = []

    async def main() -> None:
        client = modelplug.Client(collector_config(url, tmp_path), on_usage=seen.append)
        await asyncio.gather(*(client.achat(model="m", messages=HI) for _ in range(4)))
        await client.aflush(10)
        assert len(upstream.received(rid)["events"]) == 4
        assert len(seen) == 4
        await client.aclose()

    asyncio.run(main())


def test_flush_rejects_a_negative_timeout() -> None:
    client = modelplug.Client({"models": MODELS})
    with pytest.raises(modelplug.InvalidRequestError, match="timeout"):
        client.flush(-1)
    client.close()


EXIT_CHILD = """
import sys
import modelplug

url, spool, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def client(app):
    return modelplug.Client({
        "app": app,
        "collector": {"url": url, "key": "k", "spool_dir": spool + "/" + app, "flush_interval_ms": 3600000},
        "models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}],
    })
clients = [client("exit-flush-a"), client("exit-flush-b")]
for i in range(n):
    clients[i % 2].chat(model="m", messages=[{"role": "user", "content": f"call {i}"}])
print("done", flush=True)
# No close(), no flush(): the atexit hook closes both clients, which delivers their events.
"""


def test_usage_is_flushed_at_interpreter_exit(upstream: Upstream, tmp_path: Path) -> None:
    rid, url = upstream.receiver()
    n = 20
    child = subprocess.run(
        [sys.executable, "-c", EXIT_CHILD, url, str(tmp_path), str(n)],
        capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "done"
    received = upstream.received(rid)
    assert len(received["events"]) == n, received
    assert received["duplicates"] == 0
    apps = [e["app"] for e in received["events"]]
    assert (apps.count("exit-flush-a"), apps.count("exit-flush-b")) == (n // 2, n // 2)


def test_a_closed_client_is_not_closed_again_at_exit() -> None:
    from modelplug import client as client_module

    client = modelplug.Client({"models": MODELS})
    assert client in client_module._open
    client.close()
    assert client not in client_module._open


def _parent_of(span: Any) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def test_calls_inside_a_span_carry_its_traceparent() -> None:
    tracer = TracerProvider().get_tracer("modelplug-tests")
    client = modelplug.Client({"models": MODELS})
    with tracer.start_as_current_span("outer") as span:
        client.chat(model="m", messages=HI)
        list(client.stream(model="m", messages=HI))
        client.embed(model="m", input="x")
        client.chat(model="m", messages=HI, metadata={"labels": {"k": "v"}})
        client.map("m", ["one"], progress=False)
        # The request's own traceparent wins.
        own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        client.chat(model="m", messages=HI, metadata={"traceparent": own})
    client.chat(model="m", messages=HI)  # outside any span
    events = client._native.usage()
    expected = _parent_of(span)
    assert int(expected.split("-")[1], 16) != 0 and int(expected.split("-")[3], 16) & 1  # sampled
    assert [e.get("traceparent") for e in events] == [expected] * 5 + [own, None]
    assert events[3]["labels"] == {"k": "v"}
    client.close()


def test_async_calls_inside_a_span_carry_its_traceparent() -> None:
    tracer = TracerProvider().get_tracer("modelplug-tests")
    client = modelplug.Client({"models": MODELS})

    async def main() -> str:
        with tracer.start_as_current_span("async-outer") as span:
            await client.achat(model="m", messages=HI)
            async for _ in client.astream(model="m", messages=HI):
                pass
            await client.aembed(model="m", input="x")
            return _parent_of(span)

    expected = asyncio.run(main())
    assert [e.get("traceparent") for e in client._native.usage()] == [expected] * 3
    client.close()


def test_no_traceparent_outside_a_span() -> None:
    assert otel_trace.get_current_span().get_span_context().is_valid is False
    client = modelplug.Client({"models": MODELS})
    client.chat(model="m", messages=HI)
    assert "traceparent" not in client._native.usage()[0]
    client.close()
