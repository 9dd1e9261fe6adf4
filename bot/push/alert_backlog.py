"""Alert changes the database could not take (it was away), kept in memory until it answers.

An alert raised during a database outage (a campaign sender stalled by that very outage, a
session that dropped meanwhile) would otherwise be lost: the event that raised it is not sent
again. `Alerts` holds such a change here, in the order it happened, and writes it once the
database answers; later changes of the same alert wait behind it, so a resolve never overtakes
its alert. Repeats of the same alert are merged into one entry that counts them, so the same
stall raised again is one alert, not many, and the backlog stays bounded.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from storage.records import NewAlert

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
"""Held changes at most; past it the oldest is dropped (and logged)."""


@dataclass
class HeldFire:
    """`Alerts.fire` of `first` at `first_at`, raised `count` times; `last` and `last_at` are
    the newest occurrence. `stored` counts the occurrences written so far."""

    first: NewAlert
    escalate: bool
    first_at: datetime
    last: NewAlert
    last_at: datetime
    count: int = 1
    stored: int = 0

    @property
    def dedupe_key(self) -> str:
        return self.first.dedupe_key

    def next_occurrence(self) -> tuple[NewAlert, datetime] | None:
        if self.stored >= self.count:
            return None
        return (self.first, self.first_at) if self.stored == 0 else (self.last, self.last_at)


@dataclass
class HeldResolve:
    """`Alerts.resolve` of the alert firing under `dedupe_key`, as it was asked at `at`."""

    dedupe_key: str
    quiet: bool
    text: str | None
    at: datetime


HeldChange = HeldFire | HeldResolve


class AlertBacklog:
    """Changes waiting for the database, oldest first, at most `limit` of them."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._changes: deque[HeldChange] = deque()
        self.dropped = 0
        """Changes given up because the backlog was full."""

    def __len__(self) -> int:
        return len(self._changes)

    def first(self) -> HeldChange | None:
        return self._changes[0] if self._changes else None

    def done(self, change: HeldChange) -> None:
        """`change` is in the database now."""
        self._changes.remove(change)

    def fire(self, new: NewAlert, escalate: bool, at: datetime) -> None:
        """Hold a fire; one repeating the newest held change of that alert only counts."""
        latest = self._latest(new.dedupe_key)
        if (
            isinstance(latest, HeldFire)
            and latest.escalate == escalate
            and (latest.last.kind, latest.last.one_shot) == (new.kind, new.one_shot)
        ):
            latest.count += 1
            latest.last, latest.last_at = new, at
            return
        self._add(HeldFire(new, escalate, at, new, at))

    def resolve(self, dedupe_key: str, quiet: bool, text: str | None, at: datetime) -> None:
        """Hold a resolve; a second one right behind the first adds nothing."""
        if isinstance(self._latest(dedupe_key), HeldResolve):
            return
        self._add(HeldResolve(dedupe_key, quiet, text, at))

    def firing(self, dedupe_key: str) -> bool | None:
        """Whether the held changes leave that alert firing; None when none is held for it."""
        latest = self._latest(dedupe_key)
        if latest is None:
            return None
        return isinstance(latest, HeldFire) and not latest.last.one_shot

    def _latest(self, dedupe_key: str) -> HeldChange | None:
        for change in reversed(self._changes):
            if change.dedupe_key == dedupe_key:
                return change
        return None

    def _add(self, change: HeldChange) -> None:
        if len(self._changes) >= self._limit:
            lost = self._changes.popleft()
            self.dropped += 1
            logger.error(
                "alert backlog full (%d): dropped the oldest held change of %s",
                self._limit,
                lost.dedupe_key,
            )
        self._changes.append(change)
