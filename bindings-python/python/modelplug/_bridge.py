"""Awaiting native calls: one completion queue per event loop, watched with ``add_reader``.

A call starts a task in the Rust core; when it finishes, the core queues the result and
writes a byte to the queue's pipe; the loop thread drains the queue and resolves the futures.
No Rust thread takes the GIL (see bindings-python/src/bridge.rs).
"""

from __future__ import annotations

import asyncio
import os
import weakref
TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms
if TYPE_CHECKING:
    from typing import Any, Callable

from . import _native

_bridges: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopBridge] = weakref.WeakKeyDictionary()


class _LoopBridge:
    __slots__ = ("completions", "fd", "pending", "next_id", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.completions = _native.Completions()
        self.fd = self.completions.fileno()
        os.set_blocking(self.fd, False)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        loop.add_reader(self.fd, self._drain)

    def _drain(self) -> None:
        try:
            os.read(self.fd, 4096)
        except BlockingIOError:
            pass
        for task_id, value, failed in self.completions.drain():
            fut = self.pending.pop(task_id, None)
            if fut is None or fut.done():
                continue
            if failed:
                fut.set_exception(value)
            else:
                fut.set_result(value)


def _bridge() -> tuple[asyncio.AbstractEventLoop, _LoopBridge]:
    loop = asyncio.get_running_loop()
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = _bridges[loop] = _LoopBridge(loop)
    return loop, bridge


async def run(start: Callable[[_native.Completions, int], _native.TaskHandle]) -> Any:
    """Starts a native task (``start(completions, id)``) and waits for its result. Cancelling
    the awaiting task aborts the native one, which cancels its request."""
    loop, bridge = _bridge()
    bridge.next_id += 1
    task_id = bridge.next_id
    fut: asyncio.Future[Any] = loop.create_future()
    bridge.pending[task_id] = fut
    handle = start(bridge.completions, task_id)
    try:
        return await fut
    except asyncio.CancelledError:
        handle.abort()
        bridge.pending.pop(task_id, None)
        raise
