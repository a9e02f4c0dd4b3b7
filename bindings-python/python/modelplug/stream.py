"""Streams: iterate events as they arrive; the last one is :class:`~modelplug.Done` with the
assembled response. Leaving the loop early (``break``, an exception) cancels the request and
closes the connection."""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from .types import ChatResponse, Done, StreamEvent, TextDelta, _event

if TYPE_CHECKING:
    from typing import Any

    from collections.abc import AsyncIterator, Iterator
    from types import TracebackType

    from . import _native

__all__ = ["Stream", "AsyncStream"]


class _StreamBase:
    __slots__ = ("_native", "_finished", "response")

    def __init__(self, native: _native.Stream) -> None:
        self._native = native
        self._finished = False
        self.response: ChatResponse | None = None
        """The assembled response, once the stream has ended."""

    def _take(self, raw: tuple[Any, ...] | None) -> StreamEvent | None:
        if raw is None:
            self._finished = True
            return None
        ev = _event(raw)
        if isinstance(ev, Done):
            self._finished = True
            self.response = ev.response
        return ev

    def cancel(self) -> None:
        """Stops the stream and closes the connection to the provider."""
        if not self._finished:
            self._finished = True
            self._native.cancel()


class Stream(_StreamBase):
    """A synchronous stream (``client.stream(...)``): ``for event in stream``.

    The GIL is released while waiting for the next event.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[StreamEvent]:
        try:
            while True:
                ev = self._take(self._native.next())
                if ev is None:
                    return
                yield ev
        finally:
            self.cancel()

    def __next__(self) -> StreamEvent:
        ev = self._take(self._native.next())
        if ev is None:
            raise StopIteration
        return ev

    def text(self) -> Iterator[str]:
        """Only the answer text, piece by piece."""
        for ev in self:
            if isinstance(ev, TextDelta):
                yield ev.text

    def final_response(self) -> ChatResponse:
        """Reads the rest of the stream and returns the assembled response."""
        for _ in self:
            pass
        if self.response is None:
            raise RuntimeError("the stream ended without a response")
        return self.response

    def close(self) -> None:
        """Same as :meth:`cancel`."""
        self.cancel()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.cancel()


class AsyncStream(_StreamBase):
    """An asynchronous stream (``client.astream(...)``): ``async for event in stream``."""

    __slots__ = ()

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        from ._bridge import run

        try:
            while True:
                ev = self._take(await run(self._native.submit_next))
                if ev is None:
                    return
                yield ev
        finally:
            self.cancel()

    async def __anext__(self) -> StreamEvent:
        from ._bridge import run

        ev = self._take(await run(self._native.submit_next))
        if ev is None:
            raise StopAsyncIteration
        return ev

    async def text(self) -> AsyncIterator[str]:
        """Only the answer text, piece by piece."""
        async for ev in self:
            if isinstance(ev, TextDelta):
                yield ev.text

    async def final_response(self) -> ChatResponse:
        """Reads the rest of the stream and returns the assembled response."""
        async for _ in self:
            pass
        if self.response is None:
            raise RuntimeError("the stream ended without a response")
        return self.response

    async def aclose(self) -> None:
        """Same as :meth:`cancel`."""
        self.cancel()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.cancel()
