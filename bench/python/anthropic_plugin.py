"""The official ``anthropic`` Python SDK as a peer on the shared yardstick (../shared/bench),
against the canned upstream's /v1/messages and /stream/v1/messages; compared with
``modelplug_anthropic`` (bench/python/modelplug_plugin.py) in the same run:

    BENCH_PLUGINS=$PWD/bench/python/modelplug_plugin.py:$PWD/bench/python/anthropic_plugin.py \\
        PY=/tmp/benchvenv/bin/python ../shared/bench/run_python.sh modelplug_anthropic anthropic

py_bench sets MESSAGES, PARAMS and API_KEY in this module before running it. The SDK gets the
same request (the system message as ``system``; ``temperature`` through ``extra_body``, as
SDK 2.x no longer takes sampling parameters as arguments); its stream is the raw event stream
(``messages.create(stream=True)``, the SDK's lighter path), and only text deltas and the final
usage are handed to py_bench's checker, as the modelplug plugin does.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

MESSAGES: list[dict[str, Any]]
PARAMS: dict[str, Any]
API_KEY: str

ANTHROPIC_MODEL = "claude-3-5-haiku-latest"


def _root(url: str) -> str:
    # py_bench hands out `<host>/v1` and `<host>/stream/v1`; the SDK appends `/v1/messages`.
    return url[: -len("/v1")] if url.endswith("/v1") else url


class AnthropicClient:
    """official anthropic SDK: AsyncAnthropic(base_url=...), defaults otherwise."""

    IMPORTS = ["anthropic"]
    DIST = "anthropic"

    async def setup(self, base: str, stream_base: str) -> None:
        from anthropic import AsyncAnthropic

        self.c = AsyncAnthropic(base_url=_root(base), api_key=API_KEY)
        self.sc = AsyncAnthropic(base_url=_root(stream_base), api_key=API_KEY)
        self.system = "\n\n".join(m["content"] for m in MESSAGES if m["role"] == "system")
        self.messages = [m for m in MESSAGES if m["role"] != "system"]
        # The same body as the other clients send.
        self.params = {"max_tokens": PARAMS["max_tokens"]}
        extra = {k: v for k, v in PARAMS.items() if k != "max_tokens"}
        if extra:
            self.params["extra_body"] = extra

    async def chat(self) -> tuple[str, int]:
        r = await self.c.messages.create(model=ANTHROPIC_MODEL, system=self.system, messages=self.messages, **self.params)
        text = "".join(b.text for b in r.content if b.type == "text")
        return text, r.usage.input_tokens + r.usage.output_tokens

    async def stream(self) -> AsyncIterator[dict[str, Any]]:
        s = await self.sc.messages.create(
            model=ANTHROPIC_MODEL, system=self.system, messages=self.messages, **self.params, stream=True
        )
        input_tokens = 0
        async for ev in s:
            if ev.type == "content_block_delta" and ev.delta.type == "text_delta":
                yield {"choices": [{"delta": {"content": ev.delta.text}}]}
            elif ev.type == "message_start":
                input_tokens = ev.message.usage.input_tokens
            elif ev.type == "message_delta":
                yield {"usage": {"total_tokens": input_tokens + ev.usage.output_tokens}}


CLIENTS = {"anthropic": AnthropicClient}
