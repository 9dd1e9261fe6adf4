"""The engine's events across processes (issue 17): workers append, the operator side follows.

A `waops worker` has no operator channels; what its engine publishes (a QR to show, a state
change, campaign progress, a message stored) is appended here, and `waops bot` reads it back in
id order from where it left off. Ids are assigned at commit order by the database's
auto-increment; a follower that has read up to id N and later meets an id below N would have
missed it, so `after` reads only rows older than a short settling time (`settle`): an insert
whose transaction is still open when a later one commits shows up within it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from storage.db import Database
from storage.models import EngineEventRow
from storage.records import LoggedEvent


class EventLogRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, source: str, events: Sequence[tuple[str, str]], at: datetime) -> None:
        """Append `events` ((kind, payload JSON), in order) in one transaction."""
        if not events:
            return
        rows = [
            {"kind": kind, "source": source, "payload": payload, "created_at": at}
            for kind, payload in events
        ]
        async with self._db.session() as session:
            await session.execute(insert(EngineEventRow), rows)

    async def after(
        self,
        cursor: int,
        now: datetime,
        *,
        limit: int = 500,
        settle: timedelta = timedelta(seconds=2),
    ) -> list[LoggedEvent]:
        """The events after id `cursor`, oldest first, up to `limit`. The newest `settle` of
        them are read only when no older one is left behind: the ones appended in a
        transaction that committed after a later id's are not skipped."""
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(EngineEventRow)
                    .where(EngineEventRow.id > cursor)
                    .order_by(EngineEventRow.id)
                    .limit(limit)
                )
            ).all()
        events = [_record(row) for row in rows]
        # Stop at the first gap in ids that is younger than `settle`: its row may still come.
        settled: list[LoggedEvent] = []
        expected = cursor + 1 if cursor else None
        for event in events:
            if expected is not None and event.id != expected and event.created_at > now - settle:
                break
            settled.append(event)
            expected = event.id + 1
        return settled

    async def last_id(self) -> int:
        """The newest event's id (0 when none): where a follower new to the log begins."""
        async with self._db.session() as session:
            return int(await session.scalar(select(func.max(EngineEventRow.id))) or 0)

    async def prune(self, before: datetime) -> int:
        """Delete the events older than `before`; how many went."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(EngineEventRow).where(EngineEventRow.created_at < before)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _record(row: EngineEventRow) -> LoggedEvent:
    return LoggedEvent(row.id, row.kind, row.source, row.payload, row.created_at)
