"""One active `waops bot` at a time (issue 17): a leader lease row, held and renewed by one
process, taken over by a standby once it expired.

Two Telegram pollers of one token conflict (getUpdates answers 409 to the second), and two
outboxes would deliver every alert twice, so only the holder runs the operator side. Every
change of holder is an UPDATE guarded by the epoch it read, so of two standbys that saw the same
expired row only one takes it. The holder keeps the id of the last engine event it published in
the row (`save_cursor`, guarded by its epoch): the next holder goes on from there, so an event
is neither skipped nor told twice across a hand-over, beyond the few published between the
last save and a crash.

Times are the bots' clocks (UTC): the machines must agree within a few seconds (NTP).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import LeaderLeaseRow
from storage.records import LeaderLease


class LeaderRepo:
    def __init__(self, db: Database, name: str = "bot") -> None:
        self._db = db
        self._name = name

    async def acquire(self, holder: str, *, ttl: timedelta, now: datetime) -> LeaderLease | None:
        """Take the lease when nobody holds it (or it expired), or renew it when `holder` has
        it; None when another process holds it."""
        async with self._db.session() as session:
            row = await session.get(LeaderLeaseRow, self._name)
        if row is None:
            try:
                async with self._db.session() as session:
                    session.add(
                        LeaderLeaseRow(
                            name=self._name, holder=holder, epoch=1, expires_at=now + ttl
                        )
                    )
            except IntegrityError:
                return None  # another bot made the row first: it holds it
            return LeaderLease(self._name, holder, 1, now + ttl, None)
        mine = row.holder == holder and row.expires_at is not None and row.expires_at > now
        epoch = row.epoch if mine else row.epoch + 1
        free = or_(
            LeaderLeaseRow.holder.is_(None),
            LeaderLeaseRow.expires_at.is_(None),
            LeaderLeaseRow.expires_at <= now,
        )
        guard = (LeaderLeaseRow.holder == holder) & (LeaderLeaseRow.expires_at > now)
        async with self._db.session() as session:
            moved = await session.execute(
                update(LeaderLeaseRow)
                .where(
                    LeaderLeaseRow.name == self._name,
                    LeaderLeaseRow.epoch == row.epoch,
                    guard if mine else free,
                )
                .values(holder=holder, epoch=epoch, expires_at=now + ttl)
                .execution_options(synchronize_session=False)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                return None
            cursor = await session.scalar(
                select(LeaderLeaseRow.cursor).where(LeaderLeaseRow.name == self._name)
            )
        return LeaderLease(self._name, holder, epoch, now + ttl, cursor)

    async def save_cursor(self, lease: LeaderLease, cursor: int, now: datetime) -> bool:
        """Keep `cursor` as the last event published, while `lease` is still held; False when
        it is not (another bot took over: this one must stop)."""
        async with self._db.session() as session:
            moved = await session.execute(
                update(LeaderLeaseRow)
                .where(
                    LeaderLeaseRow.name == self._name,
                    LeaderLeaseRow.holder == lease.holder,
                    LeaderLeaseRow.epoch == lease.epoch,
                    LeaderLeaseRow.expires_at > now,
                )
                .values(cursor=cursor)
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def release(self, lease: LeaderLease) -> None:
        """Give the lease up (a clean stop): a standby takes it at its next look."""
        async with self._db.session() as session:
            await session.execute(
                update(LeaderLeaseRow)
                .where(
                    LeaderLeaseRow.name == self._name,
                    LeaderLeaseRow.holder == lease.holder,
                    LeaderLeaseRow.epoch == lease.epoch,
                )
                .values(holder=None, expires_at=None)
                .execution_options(synchronize_session=False)
            )

    async def current(self, now: datetime) -> LeaderLease | None:
        """Who holds the lease now, if anybody."""
        async with self._db.session() as session:
            row = await session.get(LeaderLeaseRow, self._name)
        if row is None or row.holder is None or row.expires_at is None or row.expires_at <= now:
            return None
        return LeaderLease(row.name, row.holder, row.epoch, row.expires_at, row.cursor)
