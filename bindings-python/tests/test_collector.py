"""``modelplug.Collector`` against the real collector: each test starts ``modelplug-collector``
on a fresh SQLite file and a free loopback port (admin and ingest keys made with its CLI
first), real ``modelplug.Client``\\ s report to it, and the reports, events and keys come back
as DataFrames that must agree with what the clients recorded."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
import collector_process
from conftest import Upstream

import modelplug
from modelplug import Collector, CollectorError
from modelplug.collector import _time_param

HI = [{"role": "user", "content": "hi"}]
PRICES = {"mock/echo": {"input": 1000, "output": 2000}, "openai/gpt-4o": {"input": 2.5, "output": 10}}
OPENAI_USAGE = {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130}


@dataclass
class Server:
    """A running collector: its URL, the admin key and an ingest key for app ``ledger`` (both
    made with the CLI before it started)."""

    url: str
    admin_key: str
    ingest_key: str
    spool: Path

    def admin(self) -> Collector:
        return Collector(self.url, self.admin_key, timeout=10)

    def client(self, app: str, key: str, upstream: Upstream | None = None, **config: Any) -> modelplug.Client:
        """A client reporting to this collector as ``app`` (only a flush or close sends)."""
        models: list[dict[str, Any]] = [
            {"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]},
            {"name": "fixed", "deployments": [{"provider": "mock", "model": "fixed", "mock": {"reply": "forty-two", "chunk_chars": 3}}]},
            {"name": "broken", "retry": {"attempts": 0},
             "deployments": [{"provider": "mock", "model": "x", "mock": {"failure_rate": 1.0, "fail_with": "RATE_LIMITED"}}]},
        ]
        if upstream is not None:
            _, base = upstream.scenario([{"reply": {"text": "counted", "usage": OPENAI_USAGE}}])
            models.append({"name": "gpt", "deployments": [
                {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": base + "/v1"}]})
        return modelplug.Client({
            "app": app,
            "collector": {"url": self.url, "key": key, "spool_dir": str(self.spool / app), "flush_interval_ms": 3_600_000},
            "models": models,
            "prices": PRICES,
            **config,
        })


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    with collector_process.running(tmp_path, "ledger") as c:
        yield Server(c.url, c.admin_key, c.ingest_key, tmp_path / "spool")


def _recorded(*clients: modelplug.Client) -> pd.DataFrame:
    """What the clients recorded themselves (``Client.usage()``), all together."""
    frames = [client.usage() for client in clients]
    assert all(isinstance(f, pd.DataFrame) for f in frames)
    return pd.concat(frames, ignore_index=True)


def test_usage_by_app_and_model_matches_what_the_clients_recorded(server: Server, upstream: Upstream) -> None:
    admin = server.admin()
    support_key = admin.create_key("support", team="cx", name="support bot")
    ledger = server.client("ledger", server.ingest_key, upstream, env="prod")
    support = server.client("support", support_key, team="cx", env="staging")
    for i in range(6):
        ledger.chat(model="m", messages=[{"role": "user", "content": "word " * (i + 1)}],
                    metadata={"labels": {"exp": "a" if i % 2 else "b"}, "user": f"u{i % 3}"})
    for _ in range(3):
        ledger.chat(model="gpt", messages=HI)
    assert [e.type for e in ledger.stream(model="fixed", messages=HI)][-1] == "done"
    for _ in range(2):
        with pytest.raises(modelplug.RateLimitError):
            ledger.chat(model="broken", messages=HI)
    for i in range(4):
        support.chat(model="m", messages=[{"role": "user", "content": f"ticket {i}"}])
    ledger.flush(timeout=10)
    support.flush(timeout=10)

    df = admin.usage(group_by=["app", "model"])
    report = admin.usage_report(group_by="app,model")
    assert list(df.columns) == report["columns"] and list(df.columns[:3]) == ["app", "model", "requests"]
    for c in ("requests", "errors", "input_tokens", "output_tokens", "streams"):
        assert df[c].dtype == "int64", c
    for c in ("cost_usd", "error_rate", "latency_ms_p95", "ttft_ms_p50"):
        assert df[c].dtype == "float64", c

    recorded = _recorded(ledger, support)
    expected = recorded.groupby(["app", "model"]).agg(
        requests=("id", "size"), input_tokens=("input_tokens", "sum"), output_tokens=("output_tokens", "sum"),
        cost_usd=("cost_usd", "sum"), errors=("status", lambda s: int((s == "error").sum())),
    )
    got = df.set_index(["app", "model"]).sort_index()
    assert list(got.index) == list(expected.index) == [
        ("ledger", "echo"), ("ledger", "fixed"), ("ledger", "gpt-4o"), ("ledger", "x"), ("support", "echo")]
    for c in ("requests", "input_tokens", "output_tokens", "errors"):
        assert got[c].tolist() == expected[c].tolist(), c
    assert got["cost_usd"].tolist() == pytest.approx(expected["cost_usd"].tolist(), abs=1e-8)
    assert got.loc[("ledger", "gpt-4o"), "input_tokens"] == 300  # what the provider reported
    assert got.loc[("ledger", "x"), "errors_by_code"] == {"RATE_LIMITED": 2}
    assert got.loc[("ledger", "fixed"), "streams"] == 1 and got.loc[("ledger", "fixed"), "ttft_ms_p50"] >= 0
    # Rows by cost, highest first.
    assert df["cost_usd"].is_monotonic_decreasing

    totals = df.attrs["totals"]
    assert totals == admin.usage_totals()
    assert totals["requests"] == len(recorded) == 16
    assert (totals["input_tokens"], totals["output_tokens"]) == (recorded["input_tokens"].sum(), recorded["output_tokens"].sum())
    assert totals["cost_usd"] == pytest.approx(recorded["cost_usd"].sum(), abs=1e-8) and totals["cost_usd"] > 0
    assert df.attrs["group_by"] == ["app", "model"] and df.attrs["sources"]["raw_events"] == 16
    assert df.attrs["to"] - df.attrs["from"] == pd.Timedelta(days=30)
    ledger.close()
    support.close()


def test_day_and_hour_groups_are_utc_datetimes(server: Server) -> None:
    client = server.client("ledger", server.ingest_key)
    for _ in range(3):
        client.chat(model="m", messages=HI)
    client.flush(timeout=10)
    admin = server.admin()
    now = datetime.now(timezone.utc)
    ts = pd.to_datetime(pd.Series([e["ts"] for e in client._native.usage()]), utc=True)

    def counts(buckets: pd.Series) -> list[tuple[pd.Timestamp, int]]:
        return sorted(buckets.value_counts().items())

    by_day = admin.usage(group_by=["day", "model"])
    assert isinstance(by_day["day"].dtype, pd.DatetimeTZDtype) and str(by_day["day"].dt.tz) == "UTC"
    assert list(zip(by_day["day"], by_day["requests"])) == counts(ts.dt.floor("D"))
    by_hour = admin.usage(group_by="hour", start=timedelta(hours=2))
    assert isinstance(by_hour["hour"].dtype, pd.DatetimeTZDtype)
    assert list(zip(by_hour["hour"], by_hour["requests"])) == counts(ts.dt.floor("h"))
    # Every form of time narrows the same way.
    assert admin.usage_totals(start=ts.min().date())["requests"] == 3  # a date: its midnight UTC
    assert admin.usage_totals(start=datetime.now() - timedelta(minutes=5))["requests"] == 3  # naive is UTC
    assert admin.usage_totals(start="1h", end=now + timedelta(minutes=1))["requests"] == 3
    assert admin.usage_totals(start=timedelta(seconds=90))["requests"] == 3
    assert admin.usage_totals(start=ts.max().to_pydatetime())["requests"] == (ts == ts.max()).sum()  # inclusive
    assert admin.usage_totals(end=ts.min().to_pydatetime())["requests"] == 0  # exclusive
    empty = admin.usage(group_by="day", end=now - timedelta(minutes=5))
    assert len(empty) == 0 and isinstance(empty["day"].dtype, pd.DatetimeTZDtype)
    assert empty["requests"].dtype == "int64" and empty.attrs["totals"]["requests"] == 0
    client.close()


def test_filters_narrow_the_rows(server: Server) -> None:
    admin = server.admin()
    ledger = server.client("ledger", server.ingest_key, env="prod")
    support = server.client("support", admin.create_key("support"), env="staging")
    for i in range(6):
        ledger.chat(model="m", messages=HI, metadata={"labels": {"exp": "ab"[i % 2]}, "user": f"u{i % 3}"})
    ledger.chat(model="fixed", messages=HI)
    support.chat(model="m", messages=HI)
    with pytest.raises(modelplug.RateLimitError):
        support.chat(model="broken", messages=HI)
    ledger.flush(timeout=10)
    support.flush(timeout=10)

    def requests(df: pd.DataFrame, key: str = "app") -> dict[Any, int]:
        return dict(zip(df[key], df["requests"]))

    assert requests(admin.usage(group_by="app")) == {"ledger": 7, "support": 2}
    assert requests(admin.usage(group_by="app", app="support")) == {"support": 2}
    assert requests(admin.usage(group_by="app", filters={"env": "prod"})) == {"ledger": 7}
    assert requests(admin.usage(group_by="model", model=["echo", "fixed"]), "model") == {"echo": 7, "fixed": 1}
    assert requests(admin.usage(group_by="model", model="echo,x"), "model") == {"echo": 7, "x": 1}
    assert requests(admin.usage(group_by="status", app="support"), "status") == {"ok": 1, "error": 1}
    assert requests(admin.usage(group_by="label.exp", labels={"exp": "a"}), "label.exp") == {"a": 3}
    assert requests(admin.usage(group_by="user", filters={"label.exp": ["a", "b"]}, user=["u0", "u1"]), "user") == {"u0": 2, "u1": 2}
    assert admin.usage_totals(app="ledger", model=None)["requests"] == 7  # None does not filter
    assert len(admin.usage(group_by="app", app="nobody")) == 0
    ledger.close()
    support.close()


def test_events_follow_the_cursor_across_pages(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    client = server.client("ledger", server.ingest_key)
    for i in range(25):
        client.chat(model="m", messages=[{"role": "user", "content": f"call {i}"}], metadata={"labels": {"n": str(i)}})
    client.chat(model="fixed", messages=HI)
    client.flush(timeout=10)
    admin = server.admin()
    pages: list[dict[str, Any]] = []
    real_call = Collector._call

    def counting(self: Collector, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        if path == "/v1/events":
            pages.append(dict(params))
        return real_call(self, method, path, params, body)

    monkeypatch.setattr(Collector, "_call", counting)

    events = admin.events(model="echo", page_size=10)
    assert [p["limit"] for p in pages] == [10, 10, 10] and "cursor" not in pages[0] and pages[1]["cursor"] != pages[2]["cursor"]
    recorded = [e for e in client._native.usage() if e["model"] == "echo"]
    assert len(events) == 25 and events["id"].is_unique
    assert set(events["id"]) == {e["id"] for e in recorded}
    order = list(zip(events["ts"], events["id"]))
    assert order == sorted(order, reverse=True)  # newest first (then by id: calls share milliseconds)
    assert str(events["ts"].dt.tz) == "UTC"
    assert events["ts"].iloc[-1] == pd.Timestamp(recorded[0]["ts"])
    assert list(events.columns[:4]) == ["id", "ts", "app", "team"] and events.columns[-1] == "labels"
    assert sorted(int(labels["n"]) for labels in events["labels"]) == list(range(25))
    assert events["http_status"].dtype == "Int64" and events["stream"].dtype == bool
    assert events["input_tokens"].sum() == sum(e["input_tokens"] for e in recorded)
    assert events["cost_usd"].sum() == pytest.approx(sum(e["cost_usd"] for e in recorded))

    pages.clear()
    first = admin.events(limit=12, page_size=5)
    assert len(first) == 12 and [p["limit"] for p in pages] == [5, 5, 2]
    assert first["id"].tolist() == admin.events()["id"].tolist()[:12]
    full = next(admin.iter_events(model="fixed"))
    assert full["sdk"]["language"] == "python" and full["attempts"][0]["provider"] == "mock"
    assert len(admin.events(limit=0)) == 0
    assert len(admin.events(app="nobody")) == 0
    client.close()


def test_key_admin_round_trip(server: Server) -> None:
    admin = server.admin()
    key = admin.create_key("billing", name="billing service")
    key_id = key.split("_")[1]
    keys = admin.keys().set_index("id")
    assert keys.loc[key_id, ["kind", "app", "name", "state"]].tolist() == ["ingest", "billing", "billing service", "active"]
    assert set(keys["kind"]) == {"admin", "ingest"} and isinstance(keys["created"].dtype, pd.DatetimeTZDtype)
    assert key not in keys.to_string()

    # It can ingest, but not read.
    client = server.client("billing", key)
    client.chat(model="m", messages=HI)
    client.flush(timeout=10)
    client.close()
    assert admin.usage_totals(app="billing")["requests"] == 1
    with pytest.raises(CollectorError) as refused:
        Collector(server.url, key).usage()
    assert (refused.value.status, refused.value.code) == (403, "forbidden")

    # Rotated with no grace: the old key stops, the new one works.
    rotated = admin.rotate_key(key_id)
    assert rotated != key and rotated.startswith("mpk_")
    with pytest.raises(CollectorError) as old:
        Collector(server.url, key).keys()
    assert old.value.status == 401
    with pytest.raises(CollectorError) as new:
        Collector(server.url, rotated).keys()
    assert new.value.status == 403  # known, valid, but not an admin key

    # Revoked (by passing the key itself): 401 from then on.
    admin.revoke_key(rotated)
    assert admin.keys().set_index("id").loc[rotated.split("_")[1], "state"] == "revoked"
    with pytest.raises(CollectorError) as revoked:
        Collector(server.url, rotated).keys()
    assert (revoked.value.status, revoked.value.code) == (401, "unauthorized")
    assert rotated not in str(revoked.value) and rotated not in repr(revoked.value)
    with pytest.raises(CollectorError) as missing:
        admin.revoke_key("0123456789abcdef")
    assert (missing.value.status, missing.value.code) == (404, "not_found")

    # An admin key made through the API reads reports.
    second_admin = admin.create_key(admin=True)
    assert Collector(server.url, second_admin).usage_totals()["requests"] == 1
    with pytest.raises(CollectorError) as bad:
        admin.create_key()  # an ingest key needs its app
    assert bad.value.status == 400 and "app" in bad.value.message


def test_a_wrong_admin_key_is_a_401_that_never_shows_the_key(server: Server) -> None:
    wrong = "mpk_0123456789abcdef_" + "s3cret" * 7
    collector = Collector(server.url, wrong)
    assert wrong not in repr(collector)
    for call in (collector.usage, collector.keys, lambda: collector.events(limit=1), lambda: collector.create_key("x")):
        with pytest.raises(CollectorError) as info:
            call()
        e = info.value
        assert (e.status, e.code, e.retryable) == (401, "unauthorized", False)
        assert isinstance(e, modelplug.ModelplugError)
        shown = f"{e} {e!r} {e.to_dict()} {e.args}"
        assert wrong not in shown and "s3cret" not in shown
        assert str(e).startswith("[unauthorized] collector:") and "(HTTP 401)" in str(e)
    with pytest.raises(CollectorError) as admin_token:
        Collector(server.url, server.ingest_key).usage()
    assert admin_token.value.status == 403 and server.ingest_key not in str(admin_token.value)


def test_a_bad_query_is_a_400_naming_the_parameter(server: Server) -> None:
    admin = server.admin()
    with pytest.raises(CollectorError) as info:
        admin.usage(group_by="nonsense")
    assert (info.value.status, info.value.code) == (400, "bad_query")
    assert "`group_by`" in info.value.message and "nonsense" in info.value.message
    with pytest.raises(CollectorError, match="`from`"):
        admin.usage_totals(start=date(2026, 1, 2), end=date(2026, 1, 1))
    with pytest.raises(CollectorError, match="`colour`"):
        admin.usage(colour="red")
    with pytest.raises(CollectorError, match="`to`"):
        admin.events(end="yesterday")
    # Caught before any request: what would change the question rather than filter it.
    with pytest.raises(ValueError, match="`format` is not a filter"):
        admin.usage(filters={"format": "csv"})
    with pytest.raises(ValueError, match="given twice"):
        admin.usage(filters={"app": "a"}, app="b")
    with pytest.raises(ValueError, match="cannot contain ','"):
        admin.usage(model=["a,b"])
    with pytest.raises(ValueError, match="no values"):
        admin.usage(model=[])
    with pytest.raises(TypeError, match="`start` must be a datetime, date, timedelta or str"):
        admin.usage(start=1700000000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size"):
        admin.events(page_size=1001)


def test_an_unreachable_collector_is_a_collector_error() -> None:
    url = f"http://127.0.0.1:{collector_process.free_port()}"
    with pytest.raises(CollectorError) as info:
        Collector(url, "mpk_0123456789abcdef_secret-secret").usage_totals()
    e = info.value
    assert (e.code, e.status, e.retryable) == ("unreachable", None, True)
    assert f"cannot reach the collector at {url}" in str(e) and "secret" not in str(e)
    with pytest.raises(ValueError, match="no credentials in the URL"):
        Collector("http://user:pw@127.0.0.1:1", "k")
    with pytest.raises(ValueError, match="http:// or https://"):
        Collector("127.0.0.1:4000", "k")


class _Redirecting(http.server.BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(307)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_redirects_are_not_followed_with_the_key() -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with pytest.raises(CollectorError) as info:
            Collector(f"http://127.0.0.1:{httpd.server_address[1]}", "mpk_0123456789abcdef_k").keys()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (info.value.status, info.value.code) == (307, "redirect")
    assert "http://127.0.0.1:9/elsewhere" in info.value.message
    assert _Redirecting.seen == ["Bearer mpk_0123456789abcdef_k"]  # one request, not two


def test_time_arguments() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert _time_param("start", datetime(2026, 11, 24, 20, 31, 5)) == "2026-11-24T20:31:05.000Z"  # naive is UTC
    assert _time_param("start", datetime(2026, 11, 24, 22, 31, 5, tzinfo=plus2)) == "2026-11-24T20:31:05.000Z"
    # Rounded up to the millisecond: an event at .124 is at or after .123001.
    assert _time_param("start", datetime(2026, 11, 24, 20, 31, 5, 123001)) == "2026-11-24T20:31:05.124Z"
    assert _time_param("end", pd.Timestamp("2026-11-24T20:31:05.5Z")) == "2026-11-24T20:31:05.500Z"
    assert _time_param("start", date(2026, 11, 24)) == "2026-11-24"
    assert _time_param("start", timedelta(days=7)) == "10080m"
    assert _time_param("start", "7d") == "7d" and _time_param("end", None) is None
    odd = _time_param("start", timedelta(seconds=30))
    assert odd is not None and odd.endswith("Z")
    assert abs(pd.Timestamp(odd) - pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=30)) < pd.Timedelta(seconds=5)
    with pytest.raises(ValueError, match="cannot be negative"):
        _time_param("start", timedelta(days=-1))


CHILD_WITHOUT_PANDAS = """
import sys
sys.modules["pandas"] = None  # as if it were not installed
import modelplug
c = modelplug.Collector("http://127.0.0.1:9", "k")
try:
    c.usage()
except ImportError as e:
    print(e)
try:
    c.usage_totals()
except modelplug.CollectorError as e:
    print(e.code)
"""


def test_without_pandas_the_dataframe_methods_say_how_to_get_it() -> None:
    child = subprocess.run([sys.executable, "-c", CHILD_WITHOUT_PANDAS], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    lines = child.stdout.splitlines()
    assert "pip install modelplug[notebook]" in lines[0]
    assert lines[1] == "unreachable"  # the dict methods need no pandas (and fail only on the network here)
