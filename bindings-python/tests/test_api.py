"""The Python API itself: inputs in every form, response objects, errors, map, usage."""

from __future__ import annotations

import asyncio
import builtins
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Upstream

import modelplug
from modelplug import Message, Tool

MOCK = {"app": "api-tests", "models": [
    {"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]},
    {"name": "fixed", "deployments": [{"provider": "mock", "model": "fixed", "mock": {"reply": "forty-two", "chunk_chars": 3}}]},
    {"name": "broken", "retry": {"attempts": 0}, "deployments": [{"provider": "mock", "model": "x", "mock": {"failure_rate": 1.0, "fail_with": "RATE_LIMITED"}}]},
], "prices": {"mock/echo": {"input": 1000, "output": 2000}}}


@pytest.fixture()
def client() -> modelplug.Client:
    return modelplug.Client(config=MOCK)


def test_requests_as_kwargs_dicts_and_objects(client: modelplug.Client) -> None:
    assert client.chat(model="m", messages=[{"role": "user", "content": "kw"}]).text == "kw"
    assert client.chat({"model": "m", "messages": [{"role": "user", "content": "dict"}]}).text == "dict"
    typed = client.chat(model="m", messages=[Message.system("be brief"), Message.user("typed")])
    assert typed.text == "typed"
    # Keyword arguments override a dict's fields.
    overridden = client.chat({"model": "nope", "messages": [Message.user("x")]}, model="m")
    assert overridden.text == "x"
    tools = client.chat(model="m", messages=[Message.user("call it")], tools=[Tool("lookup", "Looks up", {"type": "object"})],
                        tool_choice="required")
    assert tools.finish_reason == "tool_calls"
    assert tools.tool_calls[0].function.name == "lookup"
    # The tool call goes back into the conversation as-is.
    follow_up = [Message.user("call it"), tools.message, Message.tool(tools.tool_calls[0].id, '{"ok": true}'), Message.user("thanks")]
    assert client.chat(model="m", messages=follow_up).text == "thanks"


def test_response_objects(client: modelplug.Client) -> None:
    r = client.chat(model="fixed", messages=[Message.user("question")])
    assert (r.text, r.finish_reason, r.provider, r.deployment, r.model) == ("forty-two", "stop", "mock", "mock/fixed", "fixed")
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.message.content == "forty-two" and r.message.tool_calls == []
    assert [a.outcome for a in r.attempts] == ["ok"]
    assert r.cost_usd is None and r.cache_hit is False
    d = r.to_dict()
    assert d["message"]["content"] == "forty-two" and d["usage"]["total_tokens"] == r.usage.total_tokens
    assert "forty-two" in repr(r) and "mock/fixed" in repr(r)
    page = r._repr_html_()
    assert page.startswith("<table>") and "forty-two" in page and "mock/fixed" in page


def test_streams_assemble_the_final_response(client: modelplug.Client) -> None:
    stream = client.stream(model="fixed", messages=[Message.user("q")])
    assert "".join(stream.text()) == "forty-two"
    assert stream.response is not None and stream.response.text == "forty-two"
    with client.stream(model="fixed", messages=[Message.user("q")]) as s:
        assert s.final_response().usage.output_tokens == 3

    async def main() -> str:
        parts = [piece async for piece in client.astream(model="fixed", messages=[Message.user("q")]).text()]
        return "".join(parts)

    assert asyncio.run(main()) == "forty-two"


def test_stream_events_have_a_type_and_a_readable_repr(client: modelplug.Client) -> None:
    events = list(client.stream(model="fixed", messages=[Message.user("q")]))
    assert [e.type for e in events][-1] == "done"
    first = events[0]
    assert isinstance(first, modelplug.TextDelta) and repr(first) == f"TextDelta(text={first.text!r})"
    delta = modelplug.ToolCallDelta(0, "call_1", "lookup", "{}")
    assert repr(delta) == "ToolCallDelta(index=0, id='call_1', name='lookup', arguments='{}')"


def test_error_classes_and_builtins(client: modelplug.Client) -> None:
    with pytest.raises(modelplug.RateLimitError) as info:
        client.chat(model="broken", messages=[Message.user("x")])
    e = info.value
    assert e.code == "RATE_LIMITED" and e.status == 429 and e.provider == "mock"
    assert [a.outcome for a in e.attempts] == ["RATE_LIMITED"]
    assert str(e) == "[RATE_LIMITED] mock: simulated failure (mock) (HTTP 429)"
    with pytest.raises(ValueError):  # InvalidRequestError is a ValueError
        client.chat(model="m", messages=[])
    with pytest.raises(modelplug.InvalidRequestError, match="max_token"):
        client.chat(model="m", messages=[Message.user("x")], max_token=3)
    with pytest.raises(LookupError):  # NotFoundError
        client.chat(model="unknown", messages=[Message.user("x")])
    assert issubclass(modelplug.TimeoutError, builtins.TimeoutError)
    assert issubclass(modelplug.NetworkError, ConnectionError)
    assert modelplug.error_class("CONTEXT_LENGTH_EXCEEDED") is modelplug.ContextLengthExceededError
    with pytest.raises(TypeError, match="cannot send"):
        client.chat(model="m", messages=[object()])


def test_non_finite_numbers_are_invalid_requests_naming_the_field(client: modelplug.Client) -> None:
    nan, inf = float("nan"), float("inf")
    cases = [
        ({"temperature": nan}, "`temperature` must be a finite number, got NaN"),
        ({"extra": {"a": {"b": [1, inf]}}}, "`extra.a.b[1]` must be a finite number, got Infinity"),
        ({"messages": [Message.user("x"), {"role": "user", "content": -inf}]}, "`messages[1].content` must be a finite number, got -Infinity"),
        ({"tools": [Tool("f", parameters={"x": (1.0, nan)})]}, "`tools[0].function.parameters.x[1]` must be a finite number"),
    ]
    for params, message in cases:
        request = {"model": "m", "messages": [Message.user("x")], **params}
        with pytest.raises(modelplug.InvalidRequestError) as info:
            client.chat(request)
        assert info.value.code == "INVALID_REQUEST" and message in str(info.value)
        with pytest.raises(modelplug.InvalidRequestError, match="must be a finite number"):
            client.stream(request)
        with pytest.raises(modelplug.InvalidRequestError, match="must be a finite number"):
            asyncio.run(client.achat(request))
    with pytest.raises(modelplug.InvalidRequestError, match="`dimensions` must be a finite number, got NaN"):
        client.embed(model="m", input="x", dimensions=nan)
    assert client._native.usage() == []  # rejected before the core saw a call
    config = {**MOCK, "prices": {"mock/echo": {"input": 1.0, "output": -inf}}}
    with pytest.raises(modelplug.ConfigError, match="prices.mock/echo.output: must be a finite number, got -Infinity"):
        modelplug.Client(config=config)


def test_thinking_signatures_go_back_with_the_assistant_message(upstream: Upstream) -> None:
    # An Anthropic answer with thinking and a tool call; `r.message.to_dict()` appended to the
    # conversation sends the signed blocks back unchanged, before the text and the tool call.
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
              "content": [{"type": "thinking", "thinking": "Use the tool.", "signature": "sig-1"},
                          {"type": "redacted_thinking", "data": "opaque-1"},
                          {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}],
              "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 20}}
    sid, base = upstream.scenario([{"body": answer}, {"reply": {"text": "Sunny."}}])
    client = modelplug.Client(config={"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [
        {"provider": "anthropic", "model": "claude-sonnet-4-5", "api_key": "sk-ant-test", "base_url": base}]}]})
    weather = Tool("weather", "Weather", {"type": "object"}, cache_control={"type": "ephemeral", "ttl": "1h"})
    messages: list[Any] = [Message("system", "Be brief.", cache_control={"type": "ephemeral"}), Message.user("Weather in Paris?")]
    r = client.chat(model="m", messages=messages, tools=[weather])
    assert r.message.reasoning_blocks == [{"type": "thinking", "text": "Use the tool.", "signature": "sig-1"},
                                          {"type": "redacted", "data": "opaque-1"}]
    assert r.tool_calls[0].signature is None
    messages += [r.message.to_dict(), Message.tool("toolu_1", "sunny")]
    assert client.chat(model="m", messages=messages, tools=[weather]).text == "Sunny."
    sent = upstream.requests(sid)[1]["body"]
    assert sent["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    assert sent["tools"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert sent["messages"][1] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Use the tool.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque-1"},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]}
    # A tool-call signature (Gemini's) survives the round trip through `to_dict()`.
    call = modelplug.ToolCall("c1", "f", "{}", signature="ts")
    assert call.to_dict()["signature"] == "ts"
    assert modelplug.ToolCall._from_dict(call.to_dict()).signature == "ts"


def test_usage_counts_cross_in_the_core_form(upstream: Upstream) -> None:
    reported = {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130,
                "prompt_tokens_details": {"cached_tokens": 40}, "completion_tokens_details": {"reasoning_tokens": 12}}
    sid, base = upstream.scenario([{"reply": {"text": "counted", "usage": reported}}])
    client = modelplug.Client(config={"models": [{"name": "m", "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": base + "/v1"}]}]})
    r = client.chat(model="m", messages=[Message.user("count")])
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens, u.total_tokens, u.cache_write_tokens) == (100, 30, 40, 12, 130, 0)
    assert u.to_dict() == r.to_dict()["usage"]  # every count, the new cache_write_tokens too, in its place
    events = list(client.stream(model="m", messages=[Message.user("count")]))
    reports = [e for e in events if isinstance(e, modelplug.UsageReport)]
    assert isinstance(events[-1], modelplug.Done)
    assert [e.usage for e in reports] == [u] and events[-1].response.usage == u
    for event in client._native.usage():
        assert (event["cached_input_tokens"], event["cache_write_tokens"], event["usage_is_estimated"]) == (40, 0, False)
    written = modelplug.Usage(10, 2, 0, 0, 12, cache_write_tokens=8)
    assert written.to_dict()["cache_write_tokens"] == 8 and "cache_write_tokens=8" in repr(written)


def test_config_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "modelplug.yaml"
    path.write_text("models:\n  - name: m\n    deployments:\n      - {provider: mock, modle: x}\n")
    with pytest.raises(modelplug.ConfigError) as info:
        modelplug.Client.from_config(path)
    assert f"{path}:4:" in str(info.value) and "did you mean `model`" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(modelplug.ConfigError, match="cannot read"):
        modelplug.Client.from_config(tmp_path / "missing.yaml")


def test_map_keeps_order_returns_errors_and_shows_progress(client: modelplug.Client, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = [f"prompt {i}" for i in range(20)]
    results = client.map("m", prompts, concurrency=4)
    answers = [r for r in results if isinstance(r, modelplug.ChatResponse)]
    assert [r.text for r in answers] == prompts
    # mock/echo is priced in MOCK: the bar shows the running cost of the whole batch.
    spent = sum(r.cost_usd or 0.0 for r in answers)
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in answers)
    err = capsys.readouterr().err
    assert "20/20" in err and "errors=0" in err and f"cost=${spent:,.4f}" in err
    mixed = client.map("m", ["ok", [{"role": "user", "content": "as messages"}], {"messages": []}], progress=False)
    assert isinstance(mixed[0], modelplug.ChatResponse) and mixed[1].text == "as messages"
    assert isinstance(mixed[2], modelplug.InvalidRequestError)
    failed = client.map("broken", ["a", "b"], progress=False)
    assert all(isinstance(r, modelplug.RateLimitError) for r in failed)

    async def main() -> list[str]:
        done = await client.amap("m", prompts, concurrency=5, progress=False)
        return [r.text for r in done if isinstance(r, modelplug.ChatResponse)]

    assert asyncio.run(main()) == prompts


def test_usage_records_every_call(client: modelplug.Client) -> None:
    client.chat(model="m", messages=[Message.user("zebra-prompt")])
    list(client.stream(model="fixed", messages=[Message.user("yak-prompt")]))
    with pytest.raises(modelplug.RateLimitError):
        client.chat(model="broken", messages=[Message.user("xylo-prompt")])
    usage = client.usage()
    try:
        import pandas as pd
    except ImportError:
        rows = usage
    else:
        assert isinstance(usage, pd.DataFrame)
        assert {"model_requested", "status", "input_tokens", "output_tokens", "latency_ms"} <= set(usage.columns)
        rows = usage.to_dict("records")
    assert [(r["model_requested"], r["status"], r["stream"]) for r in rows] == [("m", "ok", False), ("fixed", "ok", True), ("broken", "error", False)]
    assert rows[0]["app"] == "api-tests" and rows[0]["sdk"]["language"] == "python"
    assert "zebra" not in str(rows) and "yak" not in str(rows) and "xylo" not in str(rows)


def test_embeddings(upstream: Upstream) -> None:
    sid, base = upstream.scenario([{"replay": "openai/embeddings"}])
    client = modelplug.Client(config={"models": [{"name": "e", "deployments": [
        {"provider": "openai", "model": "text-embedding-3-small", "api_key": "sk-test", "base_url": base + "/v1"}]}],
        "prices": {"openai/text-embedding-3-small": {"input": 0.02, "output": 0}}})
    r = client.embed(model="e", input="Hello, world!", dimensions=128)
    assert len(r.embeddings) == 1 and len(r.embeddings[0]) == 128
    assert r.usage.input_tokens == 4 and r.provider == "openai"
    assert r.cost_usd == pytest.approx(4 * 0.02 / 1e6)
    assert "1 vectors × 128" in repr(r)
    assert asyncio.run(client.aembed({"model": "e", "input": ["Hello, world!"], "dimensions": 128})).embeddings == r.embeddings


def test_no_config_means_provider_slash_model() -> None:
    client = modelplug.Client()
    assert client.chat(model="mock/anything", messages=[Message.user("direct")]).text == "direct"
    assert client.models == []


@pytest.mark.parametrize("value", ["two", "0"])
def test_a_bad_worker_count_is_the_constructors_config_error(value: str) -> None:
    # A fresh process: the runtime is built once per process, by its first client.
    script = (
        "import modelplug\n"
        "try:\n"
        "    modelplug.Client()\n"
        "except modelplug.ConfigError as e:\n"
        "    print(e.code, e)\n"
    )
    env = {**os.environ, "MODELPLUG_WORKER_THREADS": value}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("CONFIG ") and "MODELPLUG_WORKER_THREADS must be a whole number" in out.stdout
    env["MODELPLUG_WORKER_THREADS"] = "3"
    ok = subprocess.run([sys.executable, "-c", "import modelplug; print(modelplug.Client().chat(model='mock/m', messages=[{'role': 'user', 'content': 'hi'}]).text)"],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.stdout.strip() == "hi", ok.stderr
