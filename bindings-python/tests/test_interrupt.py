"""Ctrl-C (SIGINT; Jupyter's "interrupt kernel" sends the same) stops a sync call at once:
the call is cancelled — the connection closed, the usage event recorded as cancelled — and
KeyboardInterrupt is raised. Each case runs in a child process, so that the signal reaches
that process's main thread, against an upstream that would take many seconds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from conftest import Upstream

CHILD = """
import json, sys
import modelplug

base, kind = sys.argv[1], sys.argv[2]
client = modelplug.Client(config={"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [
    {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": base + "/v1"}]}]})
messages = [{"role": "user", "content": "interrupt me"}]
print("ready", flush=True)
try:
    if kind == "chat":
        client.chat(model="m", messages=messages)
    elif kind == "stream":
        for event in client.stream(model="m", messages=messages):
            pass
    else:
        client.map("m", ["one", "two", "three"], concurrency=2, progress=False)
finally:
    print(json.dumps(client._native.usage()), flush=True)
"""

LONG = "an answer that takes its time to arrive, a few bytes at a time, " * 4
# Both bodies take well over 8 s to send.
SLOW_BODY = {"reply": {"text": LONG}, "chunk_bytes": 8, "chunk_delay_ms": 250}
SLOW_STREAM = {"reply": {"text": LONG}, "chunk_bytes": 40, "chunk_delay_ms": 250}


def interrupted(
    upstream: Upstream, kind: str, step: dict[str, Any], calls: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs ``kind`` in a child and interrupts it about 0.5 s into its ``calls`` requests;
    returns the child's usage events and what the upstream received."""
    sid, base = upstream.scenario([step])
    child = subprocess.Popen([sys.executable, "-c", CHILD, base, kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(upstream.requests(sid)) < calls and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = child.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        child.kill()
    assert child.returncode == -signal.SIGINT and "KeyboardInterrupt" in err, err
    assert took < 2.0, f"the child took {took:.1f} s to stop"
    events = json.loads(out.strip().splitlines()[-1])
    return events, aborted_requests(upstream, sid)


def aborted_requests(upstream: Upstream, scenario: str) -> list[dict[str, Any]]:
    """The scenario's requests, once every one of them has ended (up to 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        reqs = upstream.requests(scenario)
        if (reqs and all(r["client_aborted"] or r["finished"] for r in reqs)) or time.monotonic() > deadline:
            return reqs
        time.sleep(0.05)


def assert_cancelled(events: list[dict[str, Any]], count: int, stream: bool) -> None:
    assert [(e["status"], e["error_code"], e["stream"]) for e in events] == [("cancelled", "CANCELLED", stream)] * count


def test_ctrl_c_cancels_a_sync_chat(upstream: Upstream) -> None:
    events, reqs = interrupted(upstream, "chat", SLOW_BODY)
    assert_cancelled(events, 1, stream=False)
    assert [(r["client_aborted"], r["finished"]) for r in reqs] == [(True, False)]


def test_ctrl_c_cancels_a_sync_stream(upstream: Upstream) -> None:
    events, reqs = interrupted(upstream, "stream", SLOW_STREAM)
    assert_cancelled(events, 1, stream=True)
    assert [(r["client_aborted"], r["finished"]) for r in reqs] == [(True, False)]


def test_ctrl_c_cancels_the_calls_of_a_map(upstream: Upstream) -> None:
    # Two calls in flight (on worker threads, which never see the signal), one not started.
    events, reqs = interrupted(upstream, "map", SLOW_BODY, calls=2)
    assert_cancelled(events, 2, stream=False)
    assert [(r["client_aborted"], r["finished"]) for r in reqs] == [(True, False)] * 2


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_a_call_that_is_not_interrupted_still_finishes(upstream: Upstream, kind: str) -> None:
    # The wait is sliced to look at signals; a call longer than many slices must not notice.
    sid, base = upstream.scenario([{"reply": {"text": "patience"}, "chunk_bytes": 64, "chunk_delay_ms": 150}])
    out = subprocess.run([sys.executable, "-c", CHILD, base, kind], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout.strip().splitlines()[-1])
    assert [(e["status"], e["output_tokens"] > 0) for e in events] == [("ok", True)]
    assert len(upstream.requests(sid)) == 1
