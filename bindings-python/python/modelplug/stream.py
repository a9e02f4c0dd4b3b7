"""Streams: iterate events as they arrive; the last one is :class:`~modelplug.Done` with the
assembled response. Leaving the loop early (``break``, an exception) cancels the request and
closes the connection."""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from collections import deque

from .types import ChatResponse, Done, StreamEvent, TextDelta, _event

if TYPE_CHECKING:
    from typing import Any

    from collections.abc import AsyncIterator, Iterator
    from types import TracebackType

    from . import _native

__all__ = ["Stream", "AsyncStream"]


class _StreamBase:
    __slots__ = ("_native", "_buffer", "_error", "_finished", "response")

    def __init__(self, native: _native.Stream) -> None:
        self._native = native
        self._buffer: deque[tuple[Any, ...]] = deque()
        self._error: BaseException | None = None
        self._finished = False
        self.response: ChatResponse | None = None
        """The assembled response, once the stream has ended."""

    def _fill(self, batch: tuple[list[tuple[Any, ...]], BaseException | None]) -> None:
        """Takes a batch from the core: events, then the stream's error if it failed."""
        events, self._error = batch
        self._buffer.extend(events)
        if not events and self._error is None:
            self._finished = True

    def _pop(self) -> StreamEvent | None:
        """The next buffered event; raises the stream's error after its last event; ``None``
        when the buffer is empty (and the stream not over)."""
        if self._buffer:
            ev = _event(self._buffer.popleft())
            if isinstance(ev, Done):
                self._finished = True
                self.response = ev.response
            return ev
        if self._error is not None:
            error, self._error = self._error, None
            self._finished = True
            raise error
        return None

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
                yield self.__next__()
        except StopIteration:
            return
        finally:
            self.cancel()

    def __next__(self) -> StreamEvent:
        while True:
            ev = self._pop()
            if ev is not None:
                return ev
            if self._finished:
                raise StopIteration
            self._fill(self._native.next_batch())

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
        try:
            while True:
                yield await self.__anext__()
        except StopAsyncIteration:
            return
        finally:
            self.cancel()

    async def __anext__(self) -> StreamEvent:
        while True:
            ev = self._pop()
            if ev is not None:
                return ev
            if self._finished:
                raise StopAsyncIteration
            from ._bridge import run

            self._fill(await run(self._native.submit_next))

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
