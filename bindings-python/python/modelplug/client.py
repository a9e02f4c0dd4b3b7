"""The modelplug :class:`Client`."""

from __future__ import annotations

import atexit
import os
import weakref
TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from . import _native
from . import errors as _errors  # registers the error factory before any call
from ._tracing import traceparent as _traceparent
from ._tracing import with_traceparent as _with_traceparent
from .guardrails import _native_guardrails
from .stream import AsyncStream, Stream
from .types import ChatResponse, EmbedResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
    from typing import Any

    from types import TracebackType

    from .guardrails import Guardrail

__all__ = ["Client"]

#: How long closing the clients still open at interpreter exit may wait (seconds).
EXIT_CLOSE_TIMEOUT = 5.0

#: Clients not yet closed, closed (and so flushed) at interpreter exit.
_open: weakref.WeakSet[Client] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    """Closes every client still open, all at once within :data:`EXIT_CLOSE_TIMEOUT`, so that
    their buffered usage reaches the collector, the sinks and ``on_usage`` before the process
    ends. Runs before the interpreter shuts down; starts no thread."""
    clients = [client._native for client in _open]
    _open.clear()
    if clients:
        try:
            _native.close_all(clients, EXIT_CLOSE_TIMEOUT)
        except Exception:  # nothing to report it to any more
            pass


def _run_async(start: Callable[[_native.Completions, int], _native.TaskHandle]) -> Awaitable[Any]:
    """Awaits a native task (the asyncio bridge is imported on first use: asyncio is heavy)."""
    from ._bridge import run

    return run(start)


def _request(request: Any, params: dict[str, Any]) -> Any:
    """The request for the core: a dict, an object with ``to_dict()``, keyword arguments, or
    a dict/object with keyword arguments on top; inside an OpenTelemetry span, with its
    ``traceparent`` in the metadata unless the request has one."""
    if request is None:
        request = params
    elif params:
        base = request if isinstance(request, dict) else request.to_dict()
        request = {**base, **params}
    return _with_traceparent(request, _traceparent())


class Client:
    """Calls any configured LLM provider through one API, with retries and failover.

    Build it from a config file (:meth:`from_config`), a config dict (``Client(config=...)``),
    or with no config at all to name models as ``provider/model`` (keys from the usual
    environment variables). Use it from plain code, from asyncio, and inside Jupyter.

    Requests are OpenAI-shaped dicts, keyword arguments, or objects with ``to_dict()``::

        client.chat(model="smart", messages=[{"role": "user", "content": "Hi"}], temperature=0.2)
        client.chat({"model": "smart", "messages": [Message.user("Hi")]}, max_tokens=50)

    A request's ``metadata`` attributes the call in its usage event (never sent to the
    provider): ``app``, ``team``, ``user``, ``tags`` (a list of strings), ``labels`` (a dict of
    string keys and values: at most 32, keys 1–64 characters of letters, digits and ``_-./:``,
    values up to 256 bytes) and ``traceparent`` (a W3C trace context,
    ``00-<trace id>-<span id>-<flags>``). Inside an active OpenTelemetry span,
    ``traceparent`` is that span's unless the request sets one::

        client.chat(model="smart", messages=[...], metadata={"user": "u-17", "labels": {"experiment": "exp-42"}})

    ``on_usage`` is called with every usage event as a dict (the shape of :meth:`usage`'s
    rows: ``id``, ``model``, ``input_tokens``, ``cost_usd``, ``labels``, ``traceparent``, and
    ``content`` — ``{"input": [{"role", "text"}], "output"}`` — when the config turns content
    capture on). It runs on a background thread, in batches, never on the call's path; an
    exception it raises goes to :func:`sys.unraisablehook` and later events still reach it.

    Usage is delivered in the background: :meth:`flush` waits for it; :meth:`close` flushes
    too, and the clients still open when the interpreter exits are closed then (waiting at
    most 5 seconds in all).

    ``guardrails`` are checks written in Python (:class:`~modelplug.Guardrail`) that every call
    passes after the config's ``guardrails:`` rules; each response lists what every guardrail
    did (``response.guardrails``)::

        def no_falcon(check: GuardrailInput) -> str | None:
            return "block" if any("falcon" in t for t in check.texts) else None

        client = Client(config, guardrails=[Guardrail("no-falcon", no_falcon)])
    """

    __slots__ = ("_native", "__weakref__")

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        on_usage: Callable[[dict[str, Any]], object] | None = None,
        guardrails: Sequence[Guardrail] = (),
    ) -> None:
        if on_usage is not None and not callable(on_usage):
            raise TypeError(f"on_usage must be callable, not {type(on_usage).__name__}")
        fspath = os.fspath(path) if path is not None else None
        self._native = _native.Client(config, fspath, on_usage, _native_guardrails(guardrails))
        _open.add(self)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str],
        *,
        on_usage: Callable[[dict[str, Any]], object] | None = None,
        guardrails: Sequence[Guardrail] = (),
    ) -> Client:
        """A client for a ``modelplug.yaml`` file (secrets from the environment); ``on_usage``
        and ``guardrails`` as for :class:`Client`."""
        return cls(path=path, on_usage=on_usage, guardrails=guardrails)

    @property
    def config_hash(self) -> str:
        """The config's stable hash (secrets and layout excluded)."""
        return self._native.config_hash

    @property
    def models(self) -> list[str]:
        """The model aliases the config defines."""
        return self._native.models

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native.closed

    def chat(self, request: Any = None, /, **params: Any) -> ChatResponse:
        """One chat completion. Blocks, without holding the GIL (other threads keep running);
        Ctrl-C cancels the call and raises :class:`KeyboardInterrupt`."""
        return ChatResponse(self._native.chat(_request(request, params)))

    async def achat(self, request: Any = None, /, **params: Any) -> ChatResponse:
        """One chat completion, awaitable. Cancelling the task cancels the request."""
        req = _request(request, params)
        return ChatResponse(await _run_async(lambda q, i: self._native.submit_chat(req, q, i)))

    def stream(self, request: Any = None, /, **params: Any) -> Stream:
        """A streamed chat completion: ``for event in client.stream(...)``. Ctrl-C while
        waiting for an event cancels the stream and raises :class:`KeyboardInterrupt`."""
        return Stream(self._native.stream(_request(request, params)))

    def astream(self, request: Any = None, /, **params: Any) -> AsyncStream:
        """A streamed chat completion: ``async for event in client.astream(...)``."""
        return AsyncStream(self._native.stream(_request(request, params)))

    def embed(self, request: Any = None, /, **params: Any) -> EmbedResponse:
        """Embeddings for ``input`` (a string or a list of strings)."""
        return EmbedResponse(self._native.embed(_request(request, params)))

    async def aembed(self, request: Any = None, /, **params: Any) -> EmbedResponse:
        """Embeddings, awaitable."""
        req = _request(request, params)
        return EmbedResponse(await _run_async(lambda q, i: self._native.submit_embed(req, q, i)))

    def map(
        self,
        model: str,
        items: Iterable[Any],
        *,
        concurrency: int = 8,
        progress: bool = True,
        **params: Any,
    ) -> list[ChatResponse | _errors.ModelplugError]:
        """Runs many prompts (strings, message lists or request dicts) with ``concurrency``
        calls in flight. Results come back in input order; a failed item is returned as its
        exception instead of raising. ``progress`` shows done / errors / tokens / cost.
        Ctrl-C cancels the calls in flight and raises :class:`KeyboardInterrupt`."""
        from .batch import run_map

        return run_map(self, model, list(items), concurrency, progress, params)

    async def amap(
        self,
        model: str,
        items: Iterable[Any],
        *,
        concurrency: int = 8,
        progress: bool = True,
        **params: Any,
    ) -> list[ChatResponse | _errors.ModelplugError]:
        """:meth:`map` for asyncio code."""
        from .batch import run_amap

        return await run_amap(self, model, list(items), concurrency, progress, params)

    def usage(self) -> Any:
        """This process's usage events for this client (the last 10 000 calls): a pandas
        ``DataFrame`` when pandas is installed, else a list of dicts. No prompt text. Still
        readable after :meth:`close`."""
        events: list[dict[str, Any]] = self._native.usage()
        try:
            import pandas as pd
        except ImportError:
            return events
        return pd.DataFrame(events)

    def flush(self, timeout: float = 5.0) -> None:
        """Waits until the usage recorded so far has been delivered — to the collector (or its
        disk spool), the config's sinks and ``on_usage`` — for at most ``timeout`` seconds
        (then raises :class:`~modelplug.TimeoutError`). Blocks without holding the GIL; Ctrl-C
        stops the wait."""
        self._native.flush(timeout)

    async def aflush(self, timeout: float = 5.0) -> None:
        """:meth:`flush` for asyncio code (the event loop keeps running meanwhile)."""
        await _run_async(lambda q, i: self._native.submit_flush(timeout, q, i))

    def close(self) -> None:
        """Closes the client: later calls raise :class:`~modelplug.CancelledError`; waits up
        to 5 seconds for calls in flight (one still running then is not cut off: it is recorded
        when it ends), then flushes usage. Blocks until then, without holding the GIL. A
        client still open at interpreter exit is closed then."""
        _open.discard(self)
        self._native.close()

    async def aclose(self) -> None:
        """:meth:`close` for asyncio code (the event loop keeps running meanwhile)."""
        _open.discard(self)
        await _run_async(self._native.submit_close)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<modelplug.Client app={self._native.app!r} models={self.models!r} {state}>"
