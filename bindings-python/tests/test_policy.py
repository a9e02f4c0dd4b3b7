"""Central policy reaches a running Python client: the test starts the real
``modelplug-collector`` (fresh SQLite file, free loopback port, admin and ingest keys made with
its CLI), builds a ``modelplug.Client`` watching it (``collector.policy`` with the collector's
public key), then changes the policy with ``PUT /v1/policy`` as admin and polls until the
running client enforces it — and, after a newer empty version, stops enforcing it.

No timing is asserted beyond a generous 10 s limit; how long enforcement took is printed
(``pytest -s`` or the captured output of a failure shows it)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from conftest import REPO

import modelplug

APP = "ledger"
ASK = [{"role": "user", "content": "tell me about the merger"}]
NO_MERGERS = "guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n"
LIMIT_S = 10.0
POLL_S = 0.02


def _collector_binary() -> Path:
    explicit = os.environ.get("MODELPLUG_COLLECTOR")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    triple = os.environ.get("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")
    return target / triple / "debug" / "modelplug-collector"


def _cli(binary: Path, *args: str) -> str:
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"modelplug-collector {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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


def _serve(binary: Path, db: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    port = _free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(binary), "serve", "--db", db, "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail(f"the collector did not answer /healthz within 15 s: {log_path.read_text()}")
            time.sleep(0.02)
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    binary = _collector_binary()
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it with `make collector` (make test-python does)")
    db = f"sqlite://{tmp_path / 'collector.db'}"
    admin_key = _cli(binary, "keys", "create", "--admin", "--db", db)
    ingest_key = _cli(binary, "keys", "create", "--app", APP, "--db", db)
    log_path = tmp_path / "collector.log"
    started = _serve(binary, db, log_path) or _serve(binary, db, log_path)
    if started is None:
        pytest.fail(f"the collector did not start: {log_path.read_text()}")
    proc, url = started
    try:
        status, answer = _http("GET", url + "/v1/policy/public-key")
        if status == 404:
            pytest.skip(f"this collector has no policy endpoints yet (GET /v1/policy/public-key: 404 {answer})")
        assert status == 200, f"GET /v1/policy/public-key answered {status}: {answer}"
        assert isinstance(answer, dict) and str(answer.get("public_key", "")).startswith("ed25519:"), answer
        yield Server(url, admin_key, ingest_key, answer["public_key"])
    finally:
        _stop(proc)


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
