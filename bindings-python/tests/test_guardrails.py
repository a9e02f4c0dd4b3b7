"""Custom guardrails in Python: the API (Guardrail, Verdict, GuardrailInput, response.guardrails),
and the boundary — a check runs on a worker thread, so a slow one blocks neither the core's
threads, nor other calls, nor the caller's event loop; a timed-out one does not wedge the
client; a check may itself call a model; and the interpreter exits cleanly with one running."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import modelplug
from modelplug import Guardrail, GuardrailInput, GuardrailOutcome, Message, Verdict

MOCK = {"app": "guardrail-tests", "models": [
    {"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]},
    {"name": "fixed", "deployments": [{"provider": "mock", "model": "fixed", "mock": {"reply": "the falcon has landed", "chunk_chars": 4}}]},
]}

#: More calls held in checks at once than the runtime has worker threads (at most 4).
HELD = 6


def says(check: GuardrailInput, word: str) -> bool:
    return any(word in t for t in check.texts)


def chat(client: modelplug.Client, text: str, model: str = "m") -> modelplug.ChatResponse:
    return client.chat(model=model, messages=[Message.user(text)])


def outcomes(response: modelplug.ChatResponse | modelplug.EmbedResponse) -> list[tuple[str, str, str, int]]:
    return [(g.name, g.stage, g.action, g.count) for g in response.guardrails]


# --- the API ------------------------------------------------------------------------------


def test_verdicts() -> None:
    assert Verdict.pass_() == Verdict("pass") and Verdict.block().action == "block" and Verdict.warn().texts is None
    red = Verdict.redact(t for t in ["a", "b"])
    assert red.action == "redact" and red.texts == ("a", "b")
    assert red.to_dict() == {"action": "redact", "texts": ["a", "b"]} and Verdict.block().to_dict() == {"action": "block"}
    assert repr(red) == "Verdict('redact', <2 texts>)" and repr(Verdict.warn()) == "Verdict('warn')"
    assert len({Verdict.warn(), Verdict.warn(), red}) == 2
    with pytest.raises(ValueError):
        Verdict("allow")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Verdict("block", ["x"])
    with pytest.raises(ValueError):
        Verdict("redact")
    with pytest.raises(TypeError):
        Verdict.redact("one string")


def test_guardrail_arguments_are_checked() -> None:
    g = Guardrail("g", lambda c: None)
    assert (g.stage, g.timeout_ms, g.fail) == ("input", 1000, "closed")
    assert repr(g) == "Guardrail('g', stage='input', timeout_ms=1000, fail='closed')"
    with pytest.raises(TypeError, match="callable"):
        Guardrail("g", "block")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timeout_ms"):
        Guardrail("g", lambda c: None, timeout_ms=0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Guardrail"):
        modelplug.Client(MOCK, guardrails=[lambda c: None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="list"):
        modelplug.Client(MOCK, guardrails=g)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value", "says_what"), [
    ("stage", "everywhere", "`stage` must be `input`, `output` or `both`"),
    ("fail", "maybe", "`fail` must be `open` or `closed`"),
    ("timeout_ms", 0, "`timeout_ms` must be at least 1"),
    ("timeout_ms", -5, "`timeout_ms` must be at least 1"),
])
def test_a_bad_stage_fail_or_timeout_is_the_constructors_config_error(field: str, value: Any, says_what: str) -> None:
    with pytest.raises(modelplug.ConfigError, match=says_what):
        modelplug.Client(MOCK, guardrails=[Guardrail("g", lambda c: None, **{field: value})])
    with pytest.raises(modelplug.ConfigError, match="needs a name"):
        modelplug.Client(MOCK, guardrails=[Guardrail(" ", lambda c: None)])


def test_the_check_gets_its_input_on_a_worker_thread_and_every_answer_form_works() -> None:
    seen: list[tuple[GuardrailInput, int]] = []

    def record(check: GuardrailInput) -> None:
        seen.append((check, threading.get_ident()))

    answers: dict[str, Any] = {"none": None, "pass": "pass", "block": "block", "warn": "warn",
                               "vpass": Verdict.pass_(), "vblock": Verdict.block(), "vwarn": Verdict.warn()}

    def answer(check: GuardrailInput) -> Any:
        return answers[check.texts[-1]]

    client = modelplug.Client(MOCK, guardrails=[Guardrail("record", record, stage="both"), Guardrail("answer", answer)])
    r = client.chat(model="m", messages=[Message.system("be nice"), Message.user("none")])
    assert r.text == "none"
    assert [(c.name, c.stage, c.texts, c.model) for c, _ in seen] == [
        ("record", "input", ["be nice", "none"], "m"), ("record", "output", ["none"], "m")]
    assert all(thread != threading.get_ident() for _, thread in seen)
    assert "texts=<2 texts>" in repr(seen[0][0])  # never the text itself
    for word, action in [("pass", "pass"), ("warn", "warn"), ("vpass", "pass"), ("vwarn", "warn")]:
        assert outcomes(chat(client, word))[1] == ("answer", "input", action, 0 if action == "pass" else 1)
    for word in ["block", "vblock"]:
        with pytest.raises(modelplug.GuardrailBlockedError, match="`answer` blocked the request"):
            chat(client, word)


def test_outcomes_on_chat_stream_and_embed_responses() -> None:
    def codenames(check: GuardrailInput) -> Verdict | None:
        if says(check, "falcon"):
            return Verdict.redact([t.replace("falcon", "[PROJECT]") for t in check.texts])
        return None

    client = modelplug.Client(MOCK, guardrails=[Guardrail("codenames", codenames, stage="both")])
    r = chat(client, "the falcon", model="fixed")
    assert r.text == "the [PROJECT] has landed"
    assert outcomes(r) == [("codenames", "input", "redact", 1), ("codenames", "output", "redact", 1)]
    assert r.guardrails[0] == GuardrailOutcome("codenames", "input", "redact", 1)
    assert r.guardrails[0].to_dict() == {"name": "codenames", "stage": "input", "action": "redact", "count": 1}
    assert r.to_dict()["guardrails"][1] == r.guardrails[1].to_dict()
    assert "GuardrailOutcome('codenames', input, redact, count=1)" == repr(r.guardrails[0])
    assert "codenames (output): redact" in r._repr_html_()

    events = list(client.stream(model="fixed", messages=[Message.user("hi")]))
    done = events[-1]
    assert isinstance(done, modelplug.Done) and done.response.text == "the [PROJECT] has landed"
    assert outcomes(done.response) == [("codenames", "input", "pass", 0), ("codenames", "output", "redact", 1)]

    async def astream() -> list[modelplug.StreamEvent]:
        return [ev async for ev in client.astream(model="fixed", messages=[Message.user("hi")])]

    adone = asyncio.run(astream())[-1]
    assert isinstance(adone, modelplug.Done) and outcomes(adone.response) == outcomes(done.response)

    e = client.embed(model="m", input=["falcon one", "two"])
    assert outcomes(e) == [("codenames", "input", "redact", 1)]
    assert modelplug.Client(MOCK).chat(model="m", messages=[Message.user("x")]).guardrails == []


def test_a_failing_check_is_recorded_by_its_type_never_its_message() -> None:
    def raises(check: GuardrailInput) -> None:
        raise KeyError(f"secret {check.texts[0]}")

    def wrong_answer(check: GuardrailInput) -> Any:
        return 42

    def too_few(check: GuardrailInput) -> Verdict:
        return Verdict.redact([])

    closed = modelplug.Client(MOCK, guardrails=[Guardrail("raises", raises)])
    with pytest.raises(modelplug.GuardrailBlockedError) as blocked:
        chat(closed, "falcon")
    assert "raised KeyError" in str(blocked.value) and "fails closed" in str(blocked.value)
    assert "secret" not in str(blocked.value.to_dict()) and "falcon" not in str(blocked.value.to_dict())
    with pytest.raises(modelplug.GuardrailBlockedError, match="raised TypeError"):
        chat(modelplug.Client(MOCK, guardrails=[Guardrail("wrong", wrong_answer)]), "x")

    opened = modelplug.Client(MOCK, guardrails=[
        Guardrail(name, check, fail="open") for name, check in [("raises", raises), ("wrong", wrong_answer), ("too-few", too_few)]])
    r = chat(opened, "falcon")
    assert r.text == "falcon"
    assert outcomes(r) == [("raises", "input", "error", 1), ("wrong", "input", "error", 1), ("too-few", "input", "error", 1)]
    assert [g["action"] for g in opened._native.usage()[-1]["guardrails"]] == ["error"] * 3


# --- the boundary -------------------------------------------------------------------------


def test_a_slow_sync_check_holds_up_no_other_call() -> None:
    """While HELD sync calls sit in a blocking check, other calls on the same client (sync and
    awaited) and on another client go through."""
    release, started = threading.Event(), threading.Semaphore(0)

    def gate(check: GuardrailInput) -> None:
        if says(check, "slow"):
            started.release()
            assert release.wait(20)

    client = modelplug.Client(MOCK, guardrails=[Guardrail("gate", gate, timeout_ms=30_000)])
    with ThreadPoolExecutor(HELD) as pool:
        held = [pool.submit(chat, client, f"slow {i}") for i in range(HELD)]
        try:
            for _ in range(HELD):
                assert started.acquire(timeout=10), "the checks did not all start"
            for i in range(5):
                assert chat(client, f"fast {i}").text == f"fast {i}"
            assert chat(modelplug.Client(MOCK), "other client").text == "other client"
            assert asyncio.run(client.achat(model="m", messages=[Message.user("async")])).text == "async"
            assert not any(f.done() for f in held)
        finally:
            release.set()
        assert [f.result(timeout=20).text for f in held] == [f"slow {i}" for i in range(HELD)]


def test_a_slow_check_never_blocks_the_event_loop() -> None:
    """An awaited call whose check (sync or async) is slow: the loop keeps ticking and other
    awaited calls finish first."""
    release = threading.Event()
    lock, waiting = threading.Lock(), [0]

    def arrived() -> None:
        with lock:
            waiting[0] += 1

    def sync_gate(check: GuardrailInput) -> None:
        if says(check, "slow sync"):
            arrived()
            assert release.wait(20)

    async def async_gate(check: GuardrailInput) -> None:
        if says(check, "slow async"):
            arrived()
            assert await asyncio.get_running_loop().run_in_executor(None, release.wait, 20)

    client = modelplug.Client(MOCK, guardrails=[
        Guardrail("sync", sync_gate, timeout_ms=30_000), Guardrail("async", async_gate, timeout_ms=30_000)])
    texts = [f"slow {kind} {i}" for kind in ("sync", "async") for i in range(HELD)]

    async def main() -> None:
        ticks = [0]

        async def ticker() -> None:
            while True:
                ticks[0] += 1
                await asyncio.sleep(0.005)

        beat = asyncio.ensure_future(ticker())
        # HELD awaited calls (tasks on the runtime's workers, more than there are workers)
        # waiting in the sync check, HELD in the async one.
        slow = [asyncio.ensure_future(client.achat(model="m", messages=[Message.user(t)])) for t in texts]
        try:
            deadline = time.monotonic() + 10
            while waiting[0] < len(texts) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert waiting[0] == len(texts), "a check held up a worker thread: the others did not start"
            before = ticks[0]
            fast = await asyncio.gather(*(client.achat(model="m", messages=[Message.user(f"fast {i}")]) for i in range(5)))
            assert [r.text for r in fast] == [f"fast {i}" for i in range(5)]
            await asyncio.sleep(0.05)
            assert ticks[0] > before and not any(t.done() for t in slow)
        finally:
            release.set()
        assert [r.text for r in await asyncio.gather(*slow)] == texts
        beat.cancel()

    asyncio.run(main())


def test_timed_out_checks_do_not_wedge_the_client() -> None:
    release = threading.Event()
    cancelled: list[bool] = []

    def stuck(check: GuardrailInput) -> None:
        if says(check, "stuck"):
            release.wait(20)

    async def astuck(check: GuardrailInput) -> None:
        if says(check, "stuck"):
            try:
                await asyncio.sleep(20)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

    client = modelplug.Client(MOCK, guardrails=[
        Guardrail("stuck", stuck, timeout_ms=50, fail="open"), Guardrail("astuck", astuck, timeout_ms=50, fail="open")])
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(HELD) as pool:
            results = list(pool.map(lambda i: chat(client, f"stuck {i}"), range(HELD)))
        assert time.monotonic() - started < 5
        assert all(outcomes(r) == [("stuck", "input", "error", 1), ("astuck", "input", "error", 1)] for r in results)
        # The blocking checks still hold their threads; the client goes on.
        for i in range(3):
            r = chat(client, f"fine {i}")
            assert r.text == f"fine {i}" and [g.action for g in r.guardrails] == ["pass", "pass"]
        # A coroutine is cancelled soon after its timeout, letting go of its thread.
        deadline = time.monotonic() + 5
        while len(cancelled) < HELD and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(cancelled) == HELD
    finally:
        release.set()


def test_a_check_may_call_a_model_itself() -> None:
    judge = modelplug.Client(MOCK)

    def sync_judge(check: GuardrailInput) -> str | None:
        return "warn" if chat(judge, "judge: " + check.texts[-1]).text.endswith("warn me") else None

    async def async_judge(check: GuardrailInput) -> str | None:
        reply = await judge.achat(model="m", messages=[Message.user("judge: " + check.texts[-1])])
        return "warn" if reply.text.endswith("warn me") else None

    client = modelplug.Client(MOCK, guardrails=[Guardrail("sync", sync_judge), Guardrail("async", async_judge)])
    assert [g.action for g in chat(client, "please warn me").guardrails] == ["warn", "warn"]
    assert [g.action for g in chat(client, "fine").guardrails] == ["pass", "pass"]


def test_the_interpreter_exits_cleanly_with_a_check_still_running() -> None:
    # The call gives up on the check after 50 ms; the check keeps running Python while the
    # script ends. Without the exit hook that waits for it, finalizing aborts the process.
    script = (
        "import time, modelplug\n"
        "def busy(check):\n"
        "    t = time.monotonic()\n"
        "    while time.monotonic() - t < 0.3:\n"
        "        pass\n"
        f"client = modelplug.Client({MOCK!r}, guardrails=[modelplug.Guardrail('busy', busy, timeout_ms=50, fail='open')])\n"
        "print(client.chat(model='m', messages=[{'role': 'user', 'content': 'bye'}]).guardrails[0].action)\n"
    )
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert (out.returncode, out.stdout.strip()) == (0, "error"), out.stderr
