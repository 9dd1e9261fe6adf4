"""Engine events as they arrive, for the session worlds (session_rig, sim_world): tests wait on
a condition over them instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from engine.events import (
    EventBus,
    PairingCodeExpired,
    PairingCodeIssued,
    QrExpired,
    QrUpdated,
    SessionStateChanged,
)
from storage.records import SessionState

# What a session announces about itself, recorded by every world.
SESSION_EVENTS: tuple[type, ...] = (
    SessionStateChanged,
    QrUpdated,
    QrExpired,
    PairingCodeIssued,
    PairingCodeExpired,
)


class EventLog:
    """Records the `kinds` published on `bus`; `wait` fails after `timeout_s` with the events."""

    def __init__(self, bus: EventBus, kinds: Iterable[type], timeout_s: float) -> None:
        self.events: list[Any] = []
        self.timeout_s = timeout_s
        self._changed = asyncio.Condition()
        for kind in kinds:
            bus.subscribe(kind, self.record)

    async def record(self, event: Any) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type, key: str | None = None) -> list[Any]:
        """The events of `kind` so far, of session `key` only when given."""
        return [
            e for e in self.events if isinstance(e, kind) and (key is None or e.session.key == key)
        ]

    def states_of(self, key: str | None = None) -> list[SessionState]:
        return [e.new for e in self.of(SessionStateChanged, key)]

    async def wait(self, predicate: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(self.timeout_s), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; events: {self.events}") from None

    async def wait_last_state(self, state: SessionState, key: str | None = None) -> None:
        """Until the last state recorded (of session `key` when given) is `state`."""

        def last_is() -> bool:
            states = self.states_of(key)
            return bool(states) and states[-1] is state

        await self.wait(last_is, str(state) if key is None else f"{key} {state}")
