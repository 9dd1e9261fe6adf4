"""A monotonic clock for rate limiters and pacers: sleeping moves it forward at once and is
recorded, so pacing is asserted exactly and tests never wait."""

from __future__ import annotations

import asyncio


class SteppingClock:
    """Call it for the time; `await sleep(s)` adds `s` and lets other tasks run once."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
