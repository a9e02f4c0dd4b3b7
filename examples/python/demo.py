"""The demo scenarios in Python: failover, streaming, tools, embeddings and the mock provider,
on ../modelplug.yaml. `make demo` runs it against the mock upstream (MODELPLUG_DEMO_UPSTREAM).

Run by hand:  MODELPLUG_DEMO_UPSTREAM=http://127.0.0.1:PORT python examples/python/demo.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import modelplug
from modelplug import Message, Tool

CONFIG = Path(__file__).resolve().parent.parent / "modelplug.yaml"


def run(client: modelplug.Client) -> list[str]:
    """Every scenario; one line each."""
    out: list[str] = []

    answer = client.chat(model="smart", messages=[Message.user("What is the capital of France?")])
    tries = " → ".join(f"{a.deployment} {a.outcome}" for a in answer.attempts)
    out.append(
        f"chat     {answer.text!r} from {answer.deployment} "
        f"({answer.usage.total_tokens} tokens, {answer.latency_ms:.1f} ms; tries: {tries})"
    )

    pieces = 0
    stream = client.stream(model="fast", messages=[Message.user("What is the capital of the UK?")])
    for event in stream:
        if isinstance(event, modelplug.TextDelta):
            pieces += 1
    done = stream.response
    assert done is not None
    out.append(f"stream   {done.text!r} in {pieces} pieces from {done.provider} ({done.usage.total_tokens} tokens)")

    tool = Tool("get_user_country", "The user's country", {"type": "object", "properties": {}})
    called = client.chat(model="tools", messages=[Message.user("What is the largest city in the user country?")], tools=[tool])
    for call in called.tool_calls:
        out.append(f"tools    the model calls {call.function.name}({call.function.arguments}) [{call.id}]")

    vectors = client.embed(model="embed", input=["Hello, world!"])
    out.append(f"embed    {len(vectors.embeddings)} vector of {len(vectors.embeddings[0])} dimensions ({vectors.usage.input_tokens} tokens)")

    echo = asyncio.run(client.achat(model="local", messages=[Message.user("no network needed")]))
    out.append(f"mock     {echo.text!r} from the {echo.provider} provider")

    costs = [answer.cost_usd, done.cost_usd, called.cost_usd, vectors.cost_usd, echo.cost_usd]
    priced = [c for c in costs if c is not None]
    out.append(f"cost     ${sum(priced):.6f} for {len(costs)} calls ({len(priced)} priced by the config's price table)")
    return out


def main() -> None:
    with modelplug.Client.from_config(CONFIG) as client:
        print(f"config {CONFIG} (hash {client.config_hash})")
        for line in run(client):
            print(line)


if __name__ == "__main__":
    main()
