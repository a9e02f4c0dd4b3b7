"""The Python/Rust boundary: the GIL is released while waiting, cancellation reaches the
network, breaking out of a stream closes it, fork() gives the child a working client, and
sync calls work under a live event loop (as in Jupyter)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import pytest
from conftest import Upstream

import modelplug

USER = [{"role": "user", "content": "hello boundary"}]
SLOW_STREAM = {"reply": {"text": "a long answer that arrives slowly, piece by piece, over the wire"}, "chunk_bytes": 60, "chunk_delay_ms": 60}
SLOW_BODY = {"reply": {"text": "slow body"}, "chunk_bytes": 16, "chunk_delay_ms": 100}


def client_for(base: str, **deployment: Any) -> modelplug.Client:
    dep = {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": base + "/v1", **deployment}
    return modelplug.Client(config={"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [dep]}]})


def wait_for_abort(upstream: Upstream, scenario: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reqs = upstream.requests(scenario)
        if reqs and reqs[0]["client_aborted"]:
            return True
        time.sleep(0.05)
    return False


def test_sync_call_releases_the_gil(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{"echo": True, "delay_ms": 400}])
    client = client_for(base)
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = counter[0]
        assert client.chat(model="m", messages=USER).text == "hello boundary"
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    # Had the call held the GIL for its 400 ms, the other thread could not have run at all.
    assert during > 10_000, during


def test_cancelling_an_achat_task_stops_the_request(upstream: Upstream) -> None:
    sid, base = upstream.scenario([SLOW_BODY])
    client = client_for(base)

    async def main() -> None:
        task = asyncio.create_task(client.achat(model="m", messages=USER))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert wait_for_abort(upstream, sid), "the upstream never saw the client go away"


def test_breaking_out_of_a_stream_cancels_it(upstream: Upstream) -> None:
    sid, base = upstream.scenario([SLOW_STREAM])
    stream = client_for(base).stream(model="m", messages=USER)
    for ev in stream:
        assert isinstance(ev, modelplug.TextDelta)
        break
    assert wait_for_abort(upstream, sid)
    assert stream.response is None


def test_breaking_out_of_an_async_stream_cancels_it(upstream: Upstream) -> None:
    sid, base = upstream.scenario([SLOW_STREAM])
    client = client_for(base)

    async def main() -> None:
        async for ev in client.astream(model="m", messages=USER):
            assert isinstance(ev, modelplug.TextDelta)
            break

    asyncio.run(main())
    assert wait_for_abort(upstream, sid)


def test_cancel_from_another_thread_interrupts_a_waiting_next(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{**SLOW_STREAM, "chunk_delay_ms": 2000}])
    stream = client_for(base).stream(model="m", messages=USER)
    first = next(stream)
    assert isinstance(first, modelplug.TextDelta)
    threading.Timer(0.2, stream.cancel).start()
    with pytest.raises(modelplug.CancelledError):
        next(stream)
    assert wait_for_abort(upstream, sid)


def test_a_forked_child_gets_a_working_client(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{"echo": True}])
    client = client_for(base)
    assert client.chat(model="m", messages=USER).text == "hello boundary"  # the parent's runtime is live
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            answer = client.chat(model="m", messages=[{"role": "user", "content": "from the child"}]).text
            os.write(write, answer.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            pytest.fail("the child hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.read(read, 1000) == b"from the child"
    assert client.chat(model="m", messages=USER).text == "hello boundary"  # and the parent still works


def test_sync_calls_work_under_a_running_event_loop(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{"echo": True}])
    client = client_for(base)

    async def notebook_cell() -> str:
        # Jupyter runs cells inside a live loop; the sync API must not need one of its own.
        text = client.chat(model="m", messages=USER).text
        events = list(client.stream(model="m", messages=USER))
        assert isinstance(events[-1], modelplug.Done)
        return text

    assert asyncio.run(notebook_cell()) == "hello boundary"


def test_many_concurrent_async_calls(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{"echo": True}])
    client = client_for(base)

    async def main() -> list[str]:
        calls = [client.achat(model="m", messages=[{"role": "user", "content": f"call {i}"}]) for i in range(300)]
        return [r.text for r in await asyncio.gather(*calls)]

    assert asyncio.run(main()) == [f"call {i}" for i in range(300)]
    assert len(upstream.requests(sid)) == 300


def test_closing_the_client(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{"echo": True}])
    with client_for(base) as client:
        client.chat(model="m", messages=USER)
    assert client.closed
    with pytest.raises(modelplug.CancelledError):
        client.chat(model="m", messages=USER)

    async def main() -> None:
        async with client_for(base) as c:
            await c.achat(model="m", messages=USER)
        with pytest.raises(modelplug.CancelledError):
            await c.achat(model="m", messages=USER)

    asyncio.run(main())


def usage_rows(client: modelplug.Client) -> list[dict[str, Any]]:
    """``client.usage()`` as a list of dicts (it is a DataFrame when pandas is installed)."""
    usage = client.usage()
    return usage if isinstance(usage, list) else usage.to_dict("records")


def test_close_lets_a_call_in_flight_finish_and_usage_stays_readable(upstream: Upstream) -> None:
    sid, base = upstream.scenario([SLOW_BODY])
    client = client_for(base)
    answers: list[str] = []
    caller = threading.Thread(target=lambda: answers.append(client.chat(model="m", messages=USER).text))
    caller.start()
    time.sleep(0.2)
    started = time.monotonic()
    client.close()  # waits (without the GIL, which the caller needs to finish) for the call
    waited = time.monotonic() - started
    caller.join(timeout=10)
    assert answers == ["slow body"]
    assert 0.3 < waited < 4.0, waited
    assert client.closed
    assert [r["status"] for r in usage_rows(client)] == ["ok"]
    with pytest.raises(modelplug.CancelledError):
        client.chat(model="m", messages=USER)
    assert usage_rows(client)[0]["status"] == "ok"


def test_aclose_waits_for_calls_in_flight_without_blocking_the_loop(upstream: Upstream) -> None:
    sid, base = upstream.scenario([SLOW_BODY])
    client = client_for(base)

    async def main() -> tuple[str, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        call = asyncio.create_task(client.achat(model="m", messages=USER))
        await asyncio.sleep(0.2)
        before = ticks
        await client.aclose()
        during = ticks - before
        ticker.cancel()
        return (await call).text, during

    text, ticks_while_closing = asyncio.run(main())
    assert text == "slow body"  # the call in flight finished within close's bound
    assert ticks_while_closing >= 20, ticks_while_closing  # ~0.7 s of closing: the loop ran on
    assert client.closed
    assert [r["status"] for r in usage_rows(client)] == ["ok"]
