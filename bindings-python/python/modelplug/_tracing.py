"""The caller's W3C trace context, from OpenTelemetry when the application uses it.

A call made inside an active OpenTelemetry span carries that span's ``traceparent`` in its
metadata (unless the request sets one), so its usage event (and the span the core exports)
joins the caller's trace. Nothing is imported for this: a span can only be active once the
application imported ``opentelemetry.trace``, so until then the lookup is one dict lookup in
``sys.modules``; after that the API's ``get_current_span`` is cached.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms
if TYPE_CHECKING:
    from typing import Any, Callable

_get_current_span: Callable[[], Any] | None = None


def traceparent() -> str | None:
    """``00-<trace id>-<span id>-<flags>`` of the current OpenTelemetry span, or ``None``
    when there is none (or OpenTelemetry is not in use)."""
    global _get_current_span
    get = _get_current_span
    if get is None:
        trace = sys.modules.get("opentelemetry.trace")
        if trace is None:
            return None
        get = _get_current_span = trace.get_current_span
    try:
        ctx = get().get_span_context()
        if not ctx.is_valid:
            return None
        return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    except Exception:  # a broken tracing setup must never fail a call
        return None


def with_traceparent(request: Any, parent: str | None) -> Any:
    """``request`` (a dict or an object with ``to_dict()``) with ``metadata.traceparent`` set
    to ``parent``, unless it has one already; ``request`` itself is not changed."""
    if parent is None:
        return request
    if not isinstance(request, dict):
        if not hasattr(request, "to_dict"):
            return request  # the native side reports what it cannot send
        request = request.to_dict()
        if not isinstance(request, dict):
            return request
    metadata = request.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        if not hasattr(metadata, "to_dict"):
            return request
        metadata = metadata.to_dict()
        if not isinstance(metadata, dict):
            return request
    if metadata.get("traceparent") is not None:
        return request
    return {**request, "metadata": {**metadata, "traceparent": parent}}
