"""The modelplug :class:`Client`."""

from __future__ import annotations

import os
TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from . import _native
from . import errors as _errors  # registers the error factory before any call
from .stream import AsyncStream, Stream
from .types import ChatResponse, EmbedResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping
    from typing import Any

    from types import TracebackType

__all__ = ["Client"]



def _run_async(start: Callable[[_native.Completions, int], _native.TaskHandle]) -> Awaitable[Any]:
    """Awaits a native task (the asyncio bridge is imported on first use: asyncio is heavy)."""
    from ._bridge import run

    return run(start)


def _request(request: Any, params: dict[str, Any]) -> Any:
    """The request for the core: a dict, an object with ``to_dict()``, keyword arguments, or
    a dict/object with keyword arguments on top."""
    if request is None:
        return params
    if params:
        base = request if isinstance(request, dict) else request.to_dict()
        return {**base, **params}
    return request


class Client:
    """Calls any configured LLM provider through one API, with retries and failover.

    Build it from a config file (:meth:`from_config`), a config dict (``Client(config=...)``),
    or with no config at all to name models as ``provider/model`` (keys from the usual
    environment variables). Use it from plain code, from asyncio, and inside Jupyter.

    Requests are OpenAI-shaped dicts, keyword arguments, or objects with ``to_dict()``::

        client.chat(model="smart", messages=[{"role": "user", "content": "Hi"}], temperature=0.2)
        client.chat({"model": "smart", "messages": [Message.user("Hi")]}, max_tokens=50)
    """

    __slots__ = ("_native", "__weakref__")

    def __init__(self, config: Mapping[str, Any] | None = None, *, path: str | os.PathLike[str] | None = None) -> None:
        self._native = _native.Client(config, os.fspath(path) if path is not None else None)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str]) -> Client:
        """A client for a ``modelplug.yaml`` file (secrets from the environment)."""
        return cls(path=path)

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

    def close(self) -> None:
        """Closes the client: later calls raise :class:`~modelplug.CancelledError`; waits up
        to 5 seconds for calls in flight (one still running then is not cut off: it is recorded
        when it ends). Blocks until then, without holding the GIL."""
        self._native.close()

    async def aclose(self) -> None:
        """:meth:`close` for asyncio code (the event loop keeps running meanwhile)."""
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
