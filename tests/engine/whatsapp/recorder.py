"""Collects driver events and lets tests wait for them (no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from engine.whatsapp import DriverEvent

E = TypeVar("E")


class EventRecorder:
    """The event sink of a driver under test; ``expect`` consumes events in order."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self._cursor = 0
        self._changed = asyncio.Condition()

    async def __call__(self, event: DriverEvent) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of_type(self, kind: type[E]) -> list[E]:
        """Every event of ``kind`` so far."""
        return [e for e in self.events if isinstance(e, kind)]

    async def expect(
        self,
        kind: type[E],
        where: Callable[[E], bool] = lambda _: True,
        *,
        timeout_s: float = 10.0,
    ) -> E:
        """The next event of ``kind`` matching ``where`` after the last one expected."""

        def find() -> E | None:
            for index in range(self._cursor, len(self.events)):
                event = self.events[index]
                if isinstance(event, kind) and where(event):
                    self._cursor = index + 1
                    return event
            return None

        async with asyncio.timeout(timeout_s), self._changed:
            while (found := find()) is None:
                await self._changed.wait()
            return found
