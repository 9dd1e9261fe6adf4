"""The test clocks: `engine.clock.VirtualClock` (sleeps jump) and two thin kinds of it.

`ManualClock`: time moves only when the test says so, and sleepers wake then (timers, alerts).
`SteppingClock`: `await sleep(s)` moves time `s` forward at once and records it, for the rate
limiters and pacers that take a clock and a sleep (their windows read `monotonic()`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from engine.clock import VirtualClock

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class ManualClock(VirtualClock):
    """Time moves only when the test calls `advance` or `advance_to`; sleepers whose time has
    come wake then.

    The `wake` event of `sleep_until` is only looked at on entry: the parts under test that
    sleep on this clock (timers) are stopped by cancellation, not by their event.
    """

    def __init__(self, start: datetime = START) -> None:
        super().__init__(start)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        if wake.is_set():
            return True
        if when <= self.now():
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((when, future))
        await future
        return False

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self._wake_due()

    def advance_to(self, when: datetime) -> None:
        super().advance_to(when)
        self._wake_due()

    def _wake_due(self) -> None:
        now = self.now()
        due = [(w, f) for w, f in self._sleepers if w <= now]
        self._sleepers = [(w, f) for w, f in self._sleepers if w > now]
        for _when, future in due:
            if not future.done():
                future.set_result(None)


class SteppingClock(VirtualClock):
    """Pass it as the clock and `sleep` as the sleep; every sleep is recorded in `sleeps`, so
    pacing is asserted exactly and tests never wait."""

    def __init__(self, start: datetime = START) -> None:
        super().__init__(start)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)
