"""modelplug's client for the shared yardstick (../shared/bench/py_bench.py).

Run (see docs/benchmarks.md):
    BENCH_PLUGINS=$PWD/bench/python/modelplug_plugin.py PY=/tmp/benchvenv/bin/python \
        ../shared/bench/run_python.sh modelplug aiohttp openai litellm

``modelplug_anthropic`` is the same client on a ``provider: anthropic`` deployment, measured
against the official ``anthropic`` SDK (bench/python/anthropic_plugin.py).

py_bench sets MODEL, MESSAGES, PARAMS and API_KEY in this module before running it. Every
call goes through the whole client (config aliases, routing, attempts, usage events); only
the chunk shape is adapted to what py_bench's checker reads.

With ``MODELPLUG_BENCH_COLLECTOR=<url>`` the client also reports every usage event to that
collector (bench/compare/reporter.sh: the reporter on against off).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, AsyncIterator

MODEL: str
MESSAGES: list[dict[str, Any]]
PARAMS: dict[str, Any]
API_KEY: str


class ModelplugClient:
    """modelplug's Python package: ``await client.achat(...)`` / ``client.astream(...)``."""

    IMPORTS = ["modelplug"]
    DIST = "modelplug"
    PROVIDER = "openai"

    def model(self) -> str:
        return MODEL

    async def setup(self, base: str, stream_base: str) -> None:
        import modelplug

        def alias(name: str, url: str) -> dict[str, Any]:
            return {"name": name, "retry": {"attempts": 0}, "deployments": [
                {"provider": self.PROVIDER, "model": self.model(), "api_key": API_KEY, "base_url": url}]}

        config: dict[str, Any] = {"app": "bench", "models": [alias("bench", base), alias("bench-stream", stream_base)]}
        collector = os.environ.get("MODELPLUG_BENCH_COLLECTOR")
        if collector:
            config["collector"] = {"url": collector, "spool_dir": tempfile.mkdtemp(prefix="mp-bench-spool-")}
        self.c = modelplug.Client(config=config)
        self.req = {"model": "bench", "messages": MESSAGES, **PARAMS}
        self.sreq = {"model": "bench-stream", "messages": MESSAGES, **PARAMS}

    async def chat(self) -> tuple[str, int]:
        r = await self.c.achat(self.req)
        return r.text, r.usage.total_tokens

    async def stream(self) -> AsyncIterator[dict[str, Any]]:
        async for ev in self.c.astream(self.sreq):
            if ev.type == "text_delta":
                yield {"choices": [{"delta": {"content": ev.text}}]}
            elif ev.type == "usage":
                yield {"usage": {"total_tokens": ev.usage.total_tokens}}


class ModelplugAnthropicClient(ModelplugClient):
    """The same client on a `provider: anthropic` deployment: the upstream's /v1/messages and
    /stream/v1/messages (Messages API JSON and SSE); the same request and checks."""

    PROVIDER = "anthropic"

    def model(self) -> str:
        return "claude-3-5-haiku-latest"


CLIENTS = {"modelplug": ModelplugClient, "modelplug_anthropic": ModelplugAnthropicClient}
