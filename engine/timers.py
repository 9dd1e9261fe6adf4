"""Named one-shot timers on the injected clock: the one timer mechanism of the engine and the bot.

A timer is a task owned by a `TaskOwner` that sleeps on the `Clock` until its time and then runs
its action, so tests move a virtual clock and production follows the system one. Recurring
work re-arms its timer when it runs (digests compute the next cron time with APScheduler).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from engine.clock import Clock
from engine.tasks import TaskOwner

Action = Callable[[], Awaitable[object]]


class Timers:
    """Named one-shot timers, each an owned task; starting a timer under a name replaces the one
    there. `run_until_idle()` lets tests wait for fired timers."""

    def __init__(self, clock: Clock, owner: TaskOwner | None = None) -> None:
        self._clock = clock
        self._owner = owner or TaskOwner("timers")
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._sleeping: set[asyncio.Task[None]] = set()
        self._running: set[asyncio.Task[None]] = set()

    def start(self, name: str, delay_s: float, action: Action) -> None:
        """Run `action` `delay_s` seconds from now."""
        self.at(name, self._clock.now() + timedelta(seconds=delay_s), action)

    def at(self, name: str, due: datetime, action: Action) -> None:
        """Run `action` at `due`; a time already past runs it at once."""
        self.cancel(name)
        task = self._owner.spawn(name, self._run(name, due, action))
        self._timers[name] = task
        self._sleeping.add(task)
        task.add_done_callback(self._done)

    def cancel(self, name: str) -> bool:
        """Cancel a timer that has not fired yet; one already firing finishes its action."""
        task = self._timers.pop(name, None)
        if task is None or task not in self._sleeping:
            return False
        task.cancel()
        return True

    def pending(self, name: str) -> bool:
        return name in self._timers

    async def _run(self, name: str, due: datetime, action: Action) -> None:
        task = asyncio.current_task()
        assert task is not None
        await self._clock.sleep_until(due, asyncio.Event())
        self._sleeping.discard(task)
        self._running.add(task)
        if self._timers.get(name) is task:
            del self._timers[name]
        await action()

    def _done(self, task: asyncio.Task[None]) -> None:
        # The owner logs a failed action; here only the bookkeeping.
        self._sleeping.discard(task)
        self._running.discard(task)

    async def run_until_idle(self) -> None:
        """Return once every timer is asleep (waiting for its time) or gone."""
        while True:
            for _ in range(3):
                await asyncio.sleep(0)
            running = set(self._running) | {
                t for t in self._timers.values() if t not in self._sleeping
            }
            if not running:
                return
            await asyncio.wait(running)

    async def shutdown(self, grace_s: float = 0.0) -> None:
        """Cancel the timers still waiting; give firing ones `grace_s` to finish, then cancel
        them too, and wait for all."""
        waiting = set(self._timers.values()) | self._sleeping
        self._timers.clear()
        for task in waiting:
            task.cancel()
        firing = set(self._running)
        if firing and grace_s > 0:
            await asyncio.wait(firing, timeout=grace_s)
        for task in firing:
            task.cancel()
        if waiting | firing:
            await asyncio.wait(waiting | firing)
