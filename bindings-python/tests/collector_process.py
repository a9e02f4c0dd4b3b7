"""The real ``modelplug-collector`` as a child process, for the tests that need one: a fresh
SQLite file, admin and ingest keys made with its CLI before it starts, a free loopback port,
and a clean stop (SIGTERM; it must exit 0)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO


def binary() -> Path:
    """The collector binary: ``$MODELPLUG_COLLECTOR``, else the debug build (``make collector``)."""
    explicit = os.environ.get("MODELPLUG_COLLECTOR")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    triple = os.environ.get("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")
    return target / triple / "debug" / "modelplug-collector"


def cli(path: Path, *args: str) -> str:
    """Runs the collector's CLI; its stdout (a key, for `keys create`)."""
    done = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"modelplug-collector {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(path: Path, db: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    """Starts ``serve`` on a free port; the process and its URL once /healthz answers, or
    ``None`` when it exited first (the port was taken meanwhile)."""
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(path), "serve", "--db", db, "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log
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


@dataclass
class Running:
    """A running collector: its URL, an admin key and an ingest key for one app."""

    url: str
    admin_key: str
    ingest_key: str


@contextmanager
def running(tmp_path: Path, app: str) -> Iterator[Running]:
    """A collector on a fresh SQLite file under ``tmp_path`` with keys for ``app``; stopped with
    SIGTERM at the end (and the test fails unless it exits 0 within 10 s)."""
    path = binary()
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `make collector` (the make test targets do)")
    db = f"sqlite://{tmp_path / 'collector.db'}"
    admin_key = cli(path, "keys", "create", "--admin", "--db", db)
    ingest_key = cli(path, "keys", "create", "--app", app, "--db", db)
    log_path = tmp_path / "collector.log"
    started = _serve(path, db, log_path) or _serve(path, db, log_path)
    if started is None:
        pytest.fail(f"the collector did not start: {log_path.read_text()}")
    proc, url = started
    try:
        yield Running(url, admin_key, ingest_key)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the collector did not stop within 10 s of SIGTERM")
        assert code == 0, log_path.read_text()
