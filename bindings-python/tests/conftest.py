"""Shared fixtures: the mock upstream (the Rust binary, started once per session) and its
scenario API."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]


def _mock_binary() -> Path:
    explicit = os.environ.get("MODELPLUG_MOCK_UPSTREAM")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    triple = os.environ.get("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")
    return target / triple / "debug" / "modelplug-mock-upstream"


class Upstream:
    """A running mock upstream."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def scenario(self, steps: list[dict[str, Any]]) -> tuple[str, str]:
        """Registers steps; returns (id, base URL)."""
        r = self._call("POST", "/_mock/scenarios", {"steps": steps})
        return r["id"], r["base"]

    def requests(self, scenario_id: str) -> list[dict[str, Any]]:
        """What the scenario received."""
        return self._call("GET", f"/_mock/scenarios/{scenario_id}/requests")

    def receiver(self) -> tuple[str, str]:
        """Starts a usage receiver (a stand-in for the collector); returns (id, collector URL)."""
        r = self._call("POST", "/_receiver", {})
        return r["id"], r["url"]

    def received(self, receiver_id: str) -> dict[str, Any]:
        """What receiver ``receiver_id`` got: ``events`` (distinct), ``posts``, ``duplicates``…"""
        return self._call("GET", f"/_receiver/{receiver_id}")

    def settled_requests(self, scenario_id: str, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """What the scenario received, once every request is finished or aborted by the
        client (up to ``timeout_s``): the mock notices a closed connection only when its next
        write fails."""
        deadline = time.monotonic() + timeout_s
        while True:
            reqs = self.requests(scenario_id)
            if all(r["finished"] or r["client_aborted"] for r in reqs) or time.monotonic() > deadline:
                return reqs
            time.sleep(0.02)


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    binary = _mock_binary()
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it with `cargo build -p modelplug-mock-upstream` (make test does)")
    proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("listening "), f"mock upstream said {line!r}"
    try:
        yield Upstream(line.split(" ", 1)[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
