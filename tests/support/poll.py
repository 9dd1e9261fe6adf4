"""The one way tests wait for something no event of ours announces: another process's effects,
several fakes at once, a page closing. Everything else waits on an event or a condition."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def poll_until(
    check: Callable[[], bool | Awaitable[bool]],
    what: str,
    timeout_s: float,
    *,
    every_s: float = 0.1,
    context: Callable[[], object] | None = None,
) -> None:
    """Until `check()` (sync or async) holds, looking every `every_s`; after `timeout_s` an
    AssertionError saying what was waited for, with `context()` when given (e.g. the events)."""
    try:
        async with asyncio.timeout(timeout_s):
            while not await _holds(check):  # noqa: ASYNC110 - nothing of ours to wait on
                await asyncio.sleep(every_s)
    except TimeoutError:
        message = f"timed out after {timeout_s:g} s waiting for {what}"
        if context is not None:
            message += f"; {context()}"
        raise AssertionError(message) from None


async def _holds(check: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = check()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
