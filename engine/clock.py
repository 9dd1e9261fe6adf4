"""Time for the engine's loops: the system clock in production, a virtual one in tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the time the engine and the bot stamp and compare."""
    return datetime.now(UTC)


class Clock(Protocol):
    """The one clock shape: instants for stamps and schedules, seconds for durations."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back: durations and rate windows."""
        ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        """Wait until `when` or until `wake` is set; True when woken early."""
        ...


WALL_CHECK_S = 60.0
"""The longest wait `SystemClock.sleep_until` makes before it reads the wall clock again."""


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        # Waits are cut in steps and the wall clock read again after each, so a time days
        # ahead (a campaign's scheduled start) is kept across a suspended machine or a clock
        # set right, which the monotonic timer under asyncio does not see.
        while True:
            delay_s = (when - self.now()).total_seconds()
            if delay_s <= 0:
                return wake.is_set()
            try:
                async with asyncio.timeout(min(delay_s, WALL_CHECK_S)):
                    await wake.wait()
            except TimeoutError:
                continue
            return True


class VirtualClock:
    """Time that jumps: `sleep_until` moves `now` forward at once (after letting other tasks
    run), so paced loops finish in milliseconds and tests see exact instants. `monotonic()` is
    the seconds moved since `start`, summed as given, so rate windows see exact gaps too."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._elapsed_s = 0.0
        self.sleeps_until: list[datetime] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed_s

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._elapsed_s += seconds

    def advance_to(self, when: datetime) -> None:
        if when > self._now:
            self._elapsed_s += (when - self._now).total_seconds()
            self._now = when

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        await asyncio.sleep(0)
        if wake.is_set():
            return True
        self.sleeps_until.append(when)
        self.advance_to(when)
        return False
