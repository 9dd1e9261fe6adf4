"""Time for the engine's loops: the system clock in production, a virtual one in tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the time the engine and the bot stamp and compare."""
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        """Wait until `when` or until `wake` is set; True when woken early."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        delay_s = (when - self.now()).total_seconds()
        if delay_s <= 0:
            return wake.is_set()
        try:
            async with asyncio.timeout(delay_s):
                await wake.wait()
        except TimeoutError:
            return False
        return True


class VirtualClock:
    """Time that jumps: `sleep_until` moves `now` forward at once (after letting other tasks
    run), so paced loops finish in milliseconds and tests see exact instants."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self.sleeps: list[datetime] = []

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        self._now = max(self._now, when)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        await asyncio.sleep(0)
        if wake.is_set():
            return True
        self.sleeps.append(when)
        self.advance_to(when)
        return False
