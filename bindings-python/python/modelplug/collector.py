"""The modelplug :class:`Collector`: usage and cost reports, raw events and key administration
from a ``modelplug-collector``, as pandas DataFrames — to audit spend from a notebook::

    import os
    from datetime import timedelta

    import modelplug

    collector = modelplug.Collector("https://collector.internal:4000", os.environ["MODELPLUG_ADMIN_KEY"])
    spend = collector.usage(start=timedelta(days=7), group_by=["team", "model"], env="prod")
    spend.sort_values("cost_usd", ascending=False).head(10)
    spend.attrs["totals"]["cost_usd"]

Plain HTTP with the standard library (no extra dependency); pandas is needed only by the
methods that return DataFrames (``pip install modelplug[notebook]``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from .errors import CollectorError

if TYPE_CHECKING:
    import urllib.error
    import urllib.request
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import date, datetime, timedelta
    from email.message import Message
    from typing import IO, Any, Union

    import pandas

    TimeArg = Union[datetime, date, timedelta, str, None]
    FilterValue = Union[str, Iterable[str], None]

__all__ = ["Collector", "CollectorError"]

#: The dimensions a report can group by (``label.<key>`` too) and filter on (not day/hour).
DIMENSIONS = (
    "app", "team", "user", "env", "operation", "provider", "deployment", "model", "status", "error_code", "day", "hour",
)

#: Query parameters that are not filters: a filter of that name would change the question.
_RESERVED = frozenset({"from", "to", "group_by", "format", "limit", "cursor"})

#: Report metrics that are counts (int64 columns).
_COUNT_METRICS = frozenset({
    "requests", "ok", "errors", "blocked", "cancelled", "input_tokens", "output_tokens", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens", "priced_requests", "estimated_cost_requests", "streams", "fallbacks",
    "cache_hits",
})

#: Report metrics that are fractional or may be missing (float64 columns; null is NaN).
_FLOAT_METRICS = frozenset({
    "error_rate", "cost_usd", "latency_ms_avg", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "ttft_ms_p50",
    "ttft_ms_p95", "ttft_ms_p99", "fallback_rate", "cache_hit_rate",
})

#: The columns of :meth:`Collector.events`, in order, with the value of a field an event left
#: out (the schema's default) and the column's dtype.
_EVENT_COLUMNS: tuple[tuple[str, Any, str | None], ...] = (
    ("id", None, None),
    ("ts", None, "utc"),
    ("app", None, None),
    ("team", None, None),
    ("user", None, None),
    ("env", None, None),
    ("operation", None, None),
    ("model_requested", None, None),
    ("provider", None, None),
    ("deployment", None, None),
    ("model", None, None),
    ("stream", False, "bool"),
    ("status", None, None),
    ("error_code", None, None),
    ("http_status", None, "Int64"),
    ("input_tokens", 0, "int64"),
    ("output_tokens", 0, "int64"),
    ("cached_input_tokens", 0, "int64"),
    ("cache_write_tokens", 0, "int64"),
    ("reasoning_tokens", 0, "int64"),
    ("cost_usd", None, "float64"),
    ("cost_is_estimated", False, "bool"),
    ("latency_ms", 0.0, "float64"),
    ("ttft_ms", None, "float64"),
    ("fallback_used", False, "bool"),
    ("cache_hit", False, "bool"),
    ("policy_version", None, None),
    ("labels", None, None),  # a dict per row ({} when the event had none)
)

#: The columns of :meth:`Collector.keys`, in order.
_KEY_COLUMNS = ("id", "kind", "app", "team", "name", "created", "state")

#: The most events one page of ``GET /v1/events`` returns.
MAX_PAGE_SIZE = 1000

_opener: urllib.request.OpenerDirector | None = None


def _http() -> urllib.request.OpenerDirector:
    """urllib's opener (imported on first use: it is heavy), following no redirect: the
    ``Authorization`` header would go along to wherever it points."""
    global _opener
    if _opener is None:
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(
                self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
            ) -> urllib.request.Request | None:
                return None  # the 3xx is raised as an HTTPError

        _opener = urllib.request.build_opener(NoRedirect)
    return _opener


def _pandas() -> Any:
    """pandas, or an ImportError that says how to get it."""
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "modelplug.Collector returns pandas DataFrames: pip install modelplug[notebook] (or pandas)",
            name="pandas",
        ) from None
    return pandas


def _to_utc(pd: Any, values: Any) -> Any:
    """RFC 3339 / ISO 8601 texts as tz-aware UTC datetimes."""
    try:
        return pd.to_datetime(values, utc=True, format="ISO8601")
    except (TypeError, ValueError):  # pandas < 2 has no format="ISO8601"
        return pd.to_datetime(values, utc=True)


def _time_param(name: str, value: TimeArg) -> str | None:
    """``start``/``end`` as the API's ``from``/``to``: a datetime (naive is UTC) as RFC 3339 in
    UTC, rounded up to the millisecond (events carry milliseconds, so the range keeps exactly
    the events it would at full precision); a date as itself (its midnight UTC); a timedelta as
    an age before the collector's now (``90m``) or, when not whole minutes, as the time it names
    by this machine's clock; a string as given."""
    from datetime import date, datetime, timedelta, timezone

    if value is None or isinstance(value, str):
        return value
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError(f"`{name}`: a timedelta is an age before now and cannot be negative, got {value!r}")
        if value % timedelta(minutes=1) == timedelta(0):
            return f"{value // timedelta(minutes=1)}m"
        value = datetime.now(timezone.utc) - value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=timezone.utc)
        ms = -((epoch - value) // timedelta(milliseconds=1))  # ceil
        t = epoch + timedelta(milliseconds=ms)
        return f"{t:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"`{name}` must be a datetime, date, timedelta or str, not {type(value).__name__}")


def _values(name: str, value: str | Iterable[str]) -> str:
    """A filter's values as the API takes them: comma-separated."""
    if isinstance(value, str):
        return value
    try:
        values = [str(v) for v in value]
    except TypeError:
        raise TypeError(f"filter `{name}`: a string or a list of strings, not {type(value).__name__}") from None
    if not values:
        raise ValueError(f"filter `{name}`: no values (leave it out, or set it to None, to not filter)")
    for v in values:
        if "," in v:
            raise ValueError(f"filter `{name}`: a value cannot contain ',' (the API separates values with it): {v!r}")
    return ",".join(values)


def _query(
    start: TimeArg,
    end: TimeArg,
    filters: Mapping[str, FilterValue] | None,
    labels: Mapping[str, FilterValue] | None,
    filters_kw: Mapping[str, FilterValue],
) -> dict[str, str]:
    """The query parameters of a time range and filters (shared by reports and events)."""
    params: dict[str, str] = {}
    for key, when in (("from", _time_param("start", start)), ("to", _time_param("end", end))):
        if when is not None:
            params[key] = when
    merged: dict[str, FilterValue] = {}
    sources: list[Iterable[tuple[str, FilterValue]]] = [
        (filters or {}).items(),
        ((f"label.{k}", v) for k, v in (labels or {}).items()),
        filters_kw.items(),
    ]
    for source in sources:
        for name, value in source:
            if name in merged:
                raise ValueError(f"filter `{name}` is given twice")
            merged[name] = value
    for name, value in merged.items():
        if name in _RESERVED:
            dims = ", ".join(DIMENSIONS[:-2])
            raise ValueError(f"`{name}` is not a filter (filter on a dimension: {dims}, label.<key>)")
        if value is not None:
            params[name] = _values(name, value)
    return params


def _field(event: Mapping[str, Any], name: str, default: Any) -> Any:
    """An event's field, or the schema's default when it was left out (labels: ``{}``)."""
    if name == "labels":
        return event.get("labels") or {}
    return event.get(name, default)


def _key_id(key: str) -> str:
    """A key id (16 hex digits), also from a whole key ``mpk_<id>_<secret>`` (only the id is sent)."""
    if key.startswith("mpk_") and len(key) > 21 and key[20] == "_":
        return key[4:20]
    return key


class Collector:
    """A client of a ``modelplug-collector``'s report and admin API, for notebooks and scripts.

    ``url`` is where the collector listens (``https://collector.internal:4000``); ``key`` an
    admin key (``mpk_…``; an ingest key can only send events, and is refused with a 403
    :class:`CollectorError`). ``timeout`` bounds each HTTP request, in seconds.

    Every failure is a :class:`CollectorError`: the collector's answer (``status``, ``code``,
    ``message``), or no answer at all (``code`` ``unreachable`` or ``timeout``). The key is
    never shown: not in errors, not in ``repr``. Redirects are not followed (the key would go
    with them).

    Times (``start``, ``end``) are a :class:`~datetime.datetime` (naive means UTC), a
    :class:`~datetime.date` (its midnight UTC), a :class:`~datetime.timedelta` (an age before
    now: ``timedelta(days=7)``), or a string the API reads (``"2026-11-24T20:31:05Z"``,
    ``"2026-11-24"``, epoch milliseconds, ``"24h"``, ``"7d"``). ``start`` is inclusive, ``end``
    exclusive; by default the last 30 days up to now.

    Filters keep the calls whose dimension has one of the values: ``filters={"env": "prod",
    "label.experiment": ["a", "b"]}``, the same as keyword arguments (``env="prod"``,
    ``model=["gpt-4o", "gpt-4o-mini"]``), or labels as ``labels={"experiment": "a"}``. A string
    value is sent as is (``"a,b"`` is two values); ``None`` does not filter. The dimensions:
    app, team, user, env, operation, provider, deployment, model, status, error_code and
    ``label.<key>``; reports also group by ``day`` and ``hour``.
    """

    __slots__ = ("_url", "_key", "_timeout")

    def __init__(self, url: str, key: str, *, timeout: float = 30.0) -> None:
        from urllib.parse import urlsplit, urlunsplit

        if not isinstance(key, str) or not key.strip():
            raise ValueError("key: an admin key (mpk_…) is required")
        if not key.strip().isascii() or not key.strip().isprintable() or len(key.split()) > 1:
            raise ValueError("key: it has spaces or unprintable characters (a key is one word, mpk_…)")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: an http:// or https:// URL of the collector is required, got {url!r}")
        if parts.query or parts.fragment:
            raise ValueError("url: the collector's base URL takes no query or fragment")
        if "@" in parts.netloc:
            raise ValueError("url: no credentials in the URL; the key goes in `key`")
        if not timeout > 0:
            raise ValueError(f"timeout: seconds, more than 0, got {timeout!r}")
        self._url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self._key = key.strip()
        self._timeout = float(timeout)

    @property
    def url(self) -> str:
        """The collector's base URL."""
        return self._url

    def __repr__(self) -> str:
        return f"<modelplug.Collector url={self._url!r}>"

    # --- HTTP ---------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` without the key, should a server or proxy have echoed it (a key too short to
        be a real one is not looked for: it would garble ordinary words)."""
        return text.replace(self._key, "mpk_…") if len(self._key) >= 16 and self._key in text else text

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One request; the answer's JSON, or a :class:`CollectorError`."""
        import json
        import socket
        import urllib.error
        import urllib.request
        from http.client import HTTPException
        from urllib.parse import urlencode

        from ._native import __version__

        url = self._url + path + (f"?{urlencode(params)}" if params else "")
        headers = {
            "Authorization": f"Bearer {self._key}",
            "Accept": "application/json",
            "User-Agent": f"modelplug-python/{__version__}",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _http().open(request, timeout=self._timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            raise self._refusal(e) from None
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise self._timed_out(method, path) from None
            raise CollectorError(
                f"cannot reach the collector at {self._url}: {self._scrub(str(reason))}", code="unreachable"
            ) from None
        except (socket.timeout, TimeoutError):
            raise self._timed_out(method, path) from None
        except (HTTPException, OSError) as e:  # the connection dropped mid-answer
            raise CollectorError(
                f"the connection to the collector at {self._url} failed: {self._scrub(str(e) or type(e).__name__)}",
                code="unreachable",
            ) from None
        try:
            return json.loads(raw)
        except ValueError:
            raise CollectorError(
                f"{method} {path}: the collector's answer is not JSON (is {self._url} a modelplug collector?)",
                code="bad_response",
                status=status,
            ) from None

    def _timed_out(self, method: str, path: str) -> CollectorError:
        return CollectorError(
            f"{method} {path}: no answer from the collector at {self._url} within {self._timeout:g} s",
            code="timeout",
        )

    def _refusal(self, e: urllib.error.HTTPError) -> CollectorError:
        """The error an HTTP error status carries (``{"error": {"code", "message"}}``)."""
        import json

        status: int = e.code
        try:
            raw = e.read()
        except Exception:
            raw = b""
        finally:
            e.close()
        retry_after = None
        header = e.headers.get("Retry-After") if e.headers is not None else None
        if header is not None:
            try:
                retry_after = float(header)
            except ValueError:
                pass
        try:
            detail = json.loads(raw)["error"]
            code, message = str(detail["code"]), str(detail["message"])
        except (ValueError, KeyError, TypeError):
            if 300 <= status < 400:
                location = self._scrub(e.headers.get("Location") or "elsewhere")
                code = "redirect"
                message = f"the collector redirects to {location}; not followed (the key would go along): use that URL"
            else:
                code = "http_error"
                message = f"HTTP {status} {e.reason} without an error object (is {self._url} a modelplug collector?)"
        return CollectorError(self._scrub(message), code=code, status=status, retry_after=retry_after)

    # --- reports ------------------------------------------------------------------------

    def usage_report(
        self,
        *,
        start: TimeArg = None,
        end: TimeArg = None,
        group_by: str | Iterable[str] = (),
        filters: Mapping[str, FilterValue] | None = None,
        labels: Mapping[str, FilterValue] | None = None,
        **filters_kw: FilterValue,
    ) -> dict[str, Any]:
        """The usage report as the API returns it (no pandas needed): ``from``, ``to``,
        ``group_by``, ``columns``, ``rows`` (a dict per group), ``totals`` and ``sources``.
        Arguments as for :meth:`usage`."""
        return self._report(start, end, group_by, filters, labels, filters_kw)

    def _report(
        self,
        start: TimeArg,
        end: TimeArg,
        group_by: str | Iterable[str],
        filters: Mapping[str, FilterValue] | None,
        labels: Mapping[str, FilterValue] | None,
        filters_kw: Mapping[str, FilterValue],
    ) -> dict[str, Any]:
        params = _query(start, end, filters, labels, filters_kw)
        dims = [group_by] if isinstance(group_by, str) else list(group_by)
        for d in dims:
            if not isinstance(d, str):
                raise TypeError(f"group_by: dimension names, not {type(d).__name__}")
        joined = ",".join(d.strip() for d in dims if d.strip())
        if joined:
            params["group_by"] = joined
        params["format"] = "json"
        report: dict[str, Any] = self._call("GET", "/v1/reports/usage", params)
        return report

    def usage(
        self,
        *,
        start: TimeArg = None,
        end: TimeArg = None,
        group_by: str | Iterable[str] = (),
        filters: Mapping[str, FilterValue] | None = None,
        labels: Mapping[str, FilterValue] | None = None,
        **filters_kw: FilterValue,
    ) -> pandas.DataFrame:
        """Usage and cost, one row per group, as a pandas DataFrame.

        ``group_by`` names dimensions (a list, or ``"app,model"``): app, team, user, env,
        operation, provider, deployment, model, status, error_code, ``label.<key>``, and one
        of day and hour. Without it, one row for everything. ``start``, ``end`` and filters as
        described in :class:`Collector`::

            collector.usage(start=timedelta(days=30), group_by=["app", "day"], model=["gpt-4o"])

        Columns in the API's order: the group dimensions (``day``/``hour`` as UTC datetimes;
        a call without the team, env… grouped by has ``""`` there; calls without a grouped
        user or label are left out), then the metrics — requests, ok, errors, blocked,
        cancelled, error_rate, errors_by_code (a dict per row), the token counts, cost_usd,
        priced_requests, estimated_cost_requests, latency_ms_avg/p50/p95/p99,
        ttft_ms_p50/p95/p99 (NaN without streams), streams, fallbacks, fallback_rate,
        cache_hits, cache_hit_rate. Rows come by cost, highest first (by time when grouped by
        day or hour). The percentiles are the collector's log-scale histogram estimates
        (within about 9 %; everything under 10 µs reads 0.005).

        ``df.attrs`` holds ``totals`` (the same metrics over every row, as a dict), ``from``
        and ``to`` (the range the collector answered, UTC timestamps), ``group_by`` and
        ``sources`` (rollup rows and raw events read).
        """
        pd = _pandas()
        report = self._report(start, end, group_by, filters, labels, filters_kw)
        columns: list[str] = report["columns"]
        df = pd.DataFrame.from_records(report["rows"], columns=columns)
        for c in columns:
            if c in ("day", "hour"):
                df[c] = _to_utc(pd, df[c])
            elif c in _COUNT_METRICS:
                try:
                    df[c] = df[c].astype("int64")
                except (TypeError, ValueError):
                    df[c] = pd.to_numeric(df[c], errors="coerce")
            elif c in _FLOAT_METRICS:
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
        df.attrs["totals"] = report.get("totals", {})
        df.attrs["from"] = _to_utc(pd, report["from"]) if report.get("from") else None
        df.attrs["to"] = _to_utc(pd, report["to"]) if report.get("to") else None
        df.attrs["group_by"] = list(report.get("group_by", []))
        df.attrs["sources"] = report.get("sources", {})
        return df

    def usage_totals(
        self,
        *,
        start: TimeArg = None,
        end: TimeArg = None,
        filters: Mapping[str, FilterValue] | None = None,
        labels: Mapping[str, FilterValue] | None = None,
        **filters_kw: FilterValue,
    ) -> dict[str, Any]:
        """The metrics of every matching call together, as a dict (``requests``,
        ``cost_usd``, ``input_tokens``… as in :meth:`usage`; no pandas needed)::

            collector.usage_totals(start=date(2026, 11, 1), end=date(2026, 12, 1), team="search")["cost_usd"]
        """
        report = self._report(start, end, (), filters, labels, filters_kw)
        totals: dict[str, Any] = report["totals"]
        return totals

    # --- events -------------------------------------------------------------------------

    def iter_events(
        self,
        *,
        start: TimeArg = None,
        end: TimeArg = None,
        filters: Mapping[str, FilterValue] | None = None,
        labels: Mapping[str, FilterValue] | None = None,
        limit: int | None = None,
        page_size: int = MAX_PAGE_SIZE,
        **filters_kw: FilterValue,
    ) -> Iterator[dict[str, Any]]:
        """The matching usage events, newest first, each as the SDK sent it (a dict with every
        field: ``attempts``, ``tags``, ``sdk``…). Pages of ``page_size`` (1–1000) are fetched
        as the iteration needs them, following the API's cursor; ``limit`` caps the events
        yielded (``None``: all). Errors are raised while iterating."""
        return self._events(start, end, filters, labels, filters_kw, limit, page_size)

    def _events(
        self,
        start: TimeArg,
        end: TimeArg,
        filters: Mapping[str, FilterValue] | None,
        labels: Mapping[str, FilterValue] | None,
        filters_kw: Mapping[str, FilterValue],
        limit: int | None,
        page_size: int,
    ) -> Iterator[dict[str, Any]]:
        params = _query(start, end, filters, labels, filters_kw)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit: the most events to return (0 or more), or None for all; got {limit!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size: 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        return self._pages(params, limit, page_size)

    def _pages(self, params: dict[str, str], limit: int | None, page_size: int) -> Iterator[dict[str, Any]]:
        left = limit
        cursor: str | None = None
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            page_params: dict[str, Any] = {**params, "format": "json", "limit": size}
            if cursor is not None:
                page_params["cursor"] = cursor
            page = self._call("GET", "/v1/events", page_params)
            events: list[dict[str, Any]] = page.get("events") or []
            if left is not None:
                events = events[:left]
                left -= len(events)
            yield from events
            cursor = page.get("next_cursor")
            if not cursor or not events:
                return

    def events(
        self,
        *,
        start: TimeArg = None,
        end: TimeArg = None,
        filters: Mapping[str, FilterValue] | None = None,
        labels: Mapping[str, FilterValue] | None = None,
        limit: int | None = None,
        page_size: int = MAX_PAGE_SIZE,
        **filters_kw: FilterValue,
    ) -> pandas.DataFrame:
        """The matching usage events as a pandas DataFrame, one row per call, newest first
        (every page fetched; ``limit`` caps the rows, ``page_size`` as for
        :meth:`iter_events`). ``start``, ``end`` and filters as described in
        :class:`Collector`.

        Columns: id, ts (UTC datetime), app, team, user, env, operation, model_requested,
        provider, deployment, model, stream, status, error_code, http_status (nullable int),
        input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
        reasoning_tokens, cost_usd (NaN when unpriced), cost_is_estimated, latency_ms,
        ttft_ms, fallback_used, cache_hit, policy_version and labels (a dict). The other
        fields (attempts, tags, sdk…) are in :meth:`iter_events`' dicts.
        """
        pd = _pandas()
        events = self._events(start, end, filters, labels, filters_kw, limit, page_size)
        rows = [[_field(e, name, default) for name, default, _ in _EVENT_COLUMNS] for e in events]
        df = pd.DataFrame(rows, columns=[name for name, _, _ in _EVENT_COLUMNS])
        for name, _, dtype in _EVENT_COLUMNS:
            if dtype == "utc":
                df[name] = _to_utc(pd, df[name])
            elif dtype is not None:
                df[name] = df[name].astype(dtype)
        return df

    # --- keys ---------------------------------------------------------------------------

    def keys(self) -> pandas.DataFrame:
        """Every key (never a secret) as a pandas DataFrame: id, kind (``admin`` or
        ``ingest``), app, team, name, created (UTC datetime) and state (``active``,
        ``revoked``, or when a rotated key stops working)."""
        pd = _pandas()
        keys: list[dict[str, Any]] = self._call("GET", "/v1/keys")["keys"]
        extra = [k for k in dict.fromkeys(f for key in keys for f in key) if k not in _KEY_COLUMNS]
        df = pd.DataFrame.from_records(keys, columns=[*_KEY_COLUMNS, *extra])
        df["created"] = _to_utc(pd, df["created"])
        return df

    def create_key(
        self, app: str | None = None, *, team: str | None = None, admin: bool = False, name: str | None = None
    ) -> str:
        """Creates a key and returns it (``mpk_…``; the collector shows it this once). An
        ingest key (the default) sends events for ``app`` only (and for ``team``, when
        given); ``admin=True`` makes an admin key, bound to no app. ``name`` is a note for
        people. Its id, for :meth:`revoke_key` and :meth:`rotate_key`, is the 16 hex digits
        after ``mpk_`` — or pass the key itself."""
        body = {"kind": "admin" if admin else "ingest", "app": app, "team": team, "name": name}
        created = self._call("POST", "/v1/keys", body=body)
        key: str = created["key"]
        return key

    def revoke_key(self, key_id: str) -> None:
        """Revokes a key at once (its id, or the key itself: only the id is sent). A
        :class:`CollectorError` ``not_found`` when no key has that id."""
        from urllib.parse import quote

        self._call("POST", f"/v1/keys/{quote(_key_id(key_id), safe='')}/revoke")

    def rotate_key(self, key_id: str, *, grace_s: int = 0) -> str:
        """Makes a new key with the same binding as ``key_id`` (an id or the key itself) and
        returns it; the old key keeps working ``grace_s`` more seconds (0: it stops now), so
        apps can move to the new one without losing events."""
        from urllib.parse import quote

        if isinstance(grace_s, bool) or not isinstance(grace_s, int) or grace_s < 0:
            raise ValueError(f"grace_s: whole seconds, 0 or more, got {grace_s!r}")
        rotated = self._call("POST", f"/v1/keys/{quote(_key_id(key_id), safe='')}/rotate", body={"grace_s": grace_s})
        key: str = rotated["key"]
        return key
