"""The system clock keeps a far deadline by the wall clock, not only by asyncio's monotonic one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from engine import clock as clock_module
from engine.clock import SystemClock

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def test_a_deadline_an_hour_away_is_met_when_the_wall_clock_jumps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A suspended machine (or a clock set right) moves wall time without monotonic time: a
    campaign due in an hour must start once the wall clock says so, not an hour after."""
    wall = [T0]
    monkeypatch.setattr(clock_module, "utcnow", lambda: wall[0])
    monkeypatch.setattr(clock_module, "WALL_CHECK_S", 0.02)
    sleeping = asyncio.create_task(
        SystemClock().sleep_until(T0 + timedelta(hours=1), asyncio.Event())
    )
    await asyncio.sleep(0.05)
    assert not sleeping.done()
    wall[0] = T0 + timedelta(hours=1, seconds=1)  # the machine slept through it
    async with asyncio.timeout(1):
        assert await sleeping is False


async def test_waking_early_still_says_so() -> None:
    wake = asyncio.Event()
    sleeping = asyncio.create_task(SystemClock().sleep_until(T0 + timedelta(days=365 * 50), wake))
    await asyncio.sleep(0)
    wake.set()
    async with asyncio.timeout(1):
        assert await sleeping is True
