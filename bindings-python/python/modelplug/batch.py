"""``Client.map`` / ``Client.amap``: many prompts at once, for notebooks and scripts."""

from __future__ import annotations

import sys
import time
TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from . import _native
from ._tracing import traceparent, with_traceparent
from .errors import ModelplugError
from .types import ChatResponse

if TYPE_CHECKING:
    from typing import Any

    from .client import Client



def _request(model: str, item: Any, params: dict[str, Any]) -> dict[str, Any]:
    """A prompt string, a message list, or a request dict → a request for ``model``."""
    if isinstance(item, str):
        return {"model": model, "messages": [{"role": "user", "content": item}], **params}
    if isinstance(item, list):
        return {"model": model, "messages": item, **params}
    base = item if isinstance(item, dict) else item.to_dict()
    return {"model": model, **params, **base}


def _dollars(amount: float) -> str:
    """A running cost: cents and up to four decimals, smaller sums to six."""
    return f"${amount:,.4f}" if amount >= 0.01 else f"${amount:.6f}"


class _Progress:
    """A tqdm bar when tqdm is installed, else a one-line text bar on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.errors, self.tokens = total, 0, 0, 0
        self.cost: float | None = None
        self._last_draw = 0.0
        self._bar: Any = None
        self._enabled = enabled and total > 0
        if self._enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, unit="call", desc="modelplug.map")

    def add(self, result: ChatResponse | ModelplugError) -> None:
        self.done += 1
        if isinstance(result, ModelplugError):
            self.errors += 1
        else:
            self.tokens += result.usage.total_tokens
            if result.cost_usd is not None:
                self.cost = (self.cost or 0.0) + result.cost_usd
        if not self._enabled:
            return
        cost = "n/a" if self.cost is None else _dollars(self.cost)
        if self._bar is not None:
            self._bar.set_postfix(errors=self.errors, tokens=self.tokens, cost=cost, refresh=False)
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and self.done < self.total:
            return
        self._last_draw = now
        width = 24
        filled = width * self.done // self.total
        sys.stderr.write(
            f"\rmodelplug.map [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"errors={self.errors} tokens={self.tokens} cost={cost}"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            sys.stderr.write("\n")


def run_map(
    client: Client, model: str, items: list[Any], concurrency: int, progress: bool, params: dict[str, Any]
) -> list[ChatResponse | ModelplugError]:
    """Runs the calls on a thread pool (sync calls release the GIL), so it also works inside
    Jupyter, where an event loop is already running. The workers never see Ctrl-C: when the
    main thread is interrupted, a cancel token ends their calls (as cancelled) at once."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    parent = traceparent()  # the workers run outside the caller's context
    requests = [with_traceparent(_request(model, item, params), parent) for item in items]
    results: list[Any] = [None] * len(requests)
    bar = _Progress(len(requests), progress)
    token = _native.CancelToken()

    def call(request: dict[str, Any]) -> ChatResponse:
        return ChatResponse(client._native.chat(request, token))

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="modelplug-map")
    try:
        pending = {pool.submit(call, r): i for i, r in enumerate(requests)}
        for fut in as_completed(pending):
            i = pending[fut]
            try:
                results[i] = fut.result()
            except ModelplugError as e:
                results[i] = e
            bar.add(results[i])
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # nothing queued starts any more
        token.cancel()  # and the calls in flight end now, as cancelled
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return results


async def run_amap(
    client: Client, model: str, items: list[Any], concurrency: int, progress: bool, params: dict[str, Any]
) -> list[ChatResponse | ModelplugError]:
    """Runs the calls as asyncio tasks, at most ``concurrency`` at a time."""
    import asyncio

    requests = [_request(model, item, params) for item in items]
    results: list[Any] = [None] * len(requests)
    bar = _Progress(len(requests), progress)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(i: int) -> None:
        async with gate:
            try:
                results[i] = await client.achat(requests[i])
            except ModelplugError as e:
                results[i] = e
            bar.add(results[i])

    try:
        await asyncio.gather(*(one(i) for i in range(len(requests))))
    finally:
        bar.close()
    return results
