"""Central policy reaches a running Python client: the test starts the real
``modelplug-collector`` (fresh SQLite file, free loopback port, admin and ingest keys made with
its CLI), builds a ``modelplug.Client`` watching it (``collector.policy`` with the collector's
public key), then changes the policy with ``PUT /v1/policy`` as admin and polls until the
running client enforces it — and, after a newer empty version, stops enforcing it.

No timing is asserted beyond a generous 10 s limit; how long enforcement took is printed
(``pytest -s`` or the captured output of a failure shows it)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import collector_process

import modelplug

APP = "ledger"
ASK = [{"role": "user", "content": "tell me about the merger"}]
NO_MERGERS = "guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n"
LIMIT_S = 10.0
POLL_S = 0.02


def _http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, JSON body or text) — error statuses included, not raised."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@dataclass
class Server:
    url: str
    admin_key: str
    ingest_key: str
    public_key: str

    def put_policy(self, body: str, content_type: str = "application/yaml") -> int:
        """PUTs a policy as admin; the new version."""
        status, answer = _http(
            "PUT",
            self.url + "/v1/policy",
            body.encode(),
            {"Authorization": f"Bearer {self.admin_key}", "Content-Type": content_type},
        )
        assert status == 201, f"PUT /v1/policy answered {status}: {answer}"
        assert isinstance(answer, dict) and isinstance(answer.get("version"), int), answer
        version: int = answer["version"]
        return version


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    with collector_process.running(tmp_path, APP) as c:
        status, answer = _http("GET", c.url + "/v1/policy/public-key")
        assert status == 200, f"GET /v1/policy/public-key answered {status}: {answer}"
        assert isinstance(answer, dict) and str(answer.get("public_key", "")).startswith("ed25519:"), answer
        yield Server(c.url, c.admin_key, c.ingest_key, answer["public_key"])


def _client(server: Server, tmp_path: Path) -> modelplug.Client:
    return modelplug.Client({
        "app": APP,
        "collector": {
            "url": server.url,
            "key": server.ingest_key,
            "spool_dir": str(tmp_path / "spool"),
            "policy": {"public_key": server.public_key, "cache_file": str(tmp_path / "policy-cache.json")},
        },
        "models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}],
    })


def _ask(client: modelplug.Client) -> Any:
    return client.chat(model="m", messages=ASK)


def _poll_until(what: str, check: Callable[[], bool]) -> float:
    """Calls ``check`` every ~20 ms until it is true (at most 10 s); the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > LIMIT_S:
            pytest.fail(f"{what}: not within {LIMIT_S} s")
        time.sleep(POLL_S)
    took = time.monotonic() - started
    print(f"{what}: {took * 1000:.0f} ms after PUT /v1/policy returned")
    return took


def _blocked_by(client: modelplug.Client, rule: str) -> Callable[[], bool]:
    """A check: the call fails with GUARDRAIL_BLOCKED naming ``rule`` (True), or succeeds (False)."""

    def check() -> bool:
        try:
            _ask(client)
        except modelplug.GuardrailBlockedError as e:
            assert rule in str(e), f"blocked, but not by `{rule}`: {e}"
            return True
        return False

    return check


def _passes(client: modelplug.Client) -> Callable[[], bool]:
    """A check: the call succeeds (True), or fails with GUARDRAIL_BLOCKED (False)."""

    def check() -> bool:
        try:
            _ask(client)
        except modelplug.GuardrailBlockedError:
            return False
        return True

    return check


def test_a_policy_put_on_the_collector_is_enforced_by_a_running_client_and_lifted_by_a_newer_one(
    server: Server, tmp_path: Path
) -> None:
    client = _client(server, tmp_path)
    try:
        assert "merger" in _ask(client).text  # the echo mock answers with the prompt

        v1 = server.put_policy(NO_MERGERS)
        _poll_until(f"deny_topics rule (version {v1}) enforced", _blocked_by(client, "no-mergers"))

        v2 = server.put_policy("{}", "application/json")
        assert v2 > v1
        _poll_until(f"empty policy (version {v2}) lifts the rule", _passes(client))
        assert "merger" in _ask(client).text
    finally:
        client.close()


def test_a_blocked_model_in_the_policy_leaves_no_deployment(server: Server, tmp_path: Path) -> None:
    client = _client(server, tmp_path)
    try:
        _ask(client)
        v1 = server.put_policy("models: { blocked: [echo] }\n")
        # The policy's `models:` section becomes a rule named `models@<section>`.
        _poll_until(f"models.blocked (version {v1}) enforced", _blocked_by(client, "models"))
    finally:
        client.close()
