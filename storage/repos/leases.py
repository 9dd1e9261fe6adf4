"""One owner per session across `waops worker` processes, through lease rows (issue 17).

Each session has a row in `session_leases` (made with the session): its owner, until when, and
an epoch that grows with every change of owner. A worker claims unowned or expired sessions up
to its share, renews what it holds well inside the time to live, and releases them when it
stops. Two workers never both hold a session: every change of owner is an UPDATE guarded by the
epoch it read, so of two claimers that read the same free row only one moves it; on MariaDB and
MySQL the read also skips rows another claimer has locked (`FOR UPDATE SKIP LOCKED`, MariaDB
10.6+, MySQL 8.0+), so claimers do not queue behind each other. A write that at-most-once
delivery depends on checks, in its own transaction, that the lease is still held at its epoch
(`hold_in`), so a worker that stalled past its lease writes nothing once it wakes.

Times are the workers' clocks (UTC): the machines must agree within a few seconds (NTP), well
under the renewal margin.

A worker writes only its own rows, found first by a plain read and then updated by primary key
(`_owned_ids_in`): an UPDATE whose WHERE names the owner would scan the table and wait on every
row another transaction locked, and a worker stopped (SIGSTOP) inside a campaign claim keeps its
lease row share-locked (`hold_in`) until the server ends its idle transaction (storage/db.py,
`idle_transaction_timeout_s`). The others must renew their own leases meanwhile.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import SessionLeaseRow, WorkerRow
from storage.records import Lease, LeaseLost, WorkerInfo


async def hold_in(session: AsyncSession, lease: Lease, now: datetime) -> None:
    """Check, in the caller's transaction, that `lease` is still held at its epoch; raise
    `LeaseLost` when not. The row stays read-locked to the commit (`LOCK IN SHARE MODE` on
    MariaDB), so no claimer takes it over between this check and the caller's writes."""
    held = await session.scalar(
        select(SessionLeaseRow.session_id)
        .where(
            SessionLeaseRow.session_id == lease.session_id,
            SessionLeaseRow.owner == lease.owner,
            SessionLeaseRow.epoch == lease.epoch,
            SessionLeaseRow.expires_at > now,
        )
        .with_for_update(read=True)
    )
    if held is None:
        raise LeaseLost(lease.session_id, lease.owner, lease.epoch)


async def _share_in(
    session: AsyncSession, owner: str, capacity: int, ttl: timedelta, now: datetime
) -> int:
    """How many sessions `owner` should hold: its capacity, and no more than an even split of
    all sessions among the workers whose heartbeat is younger than `ttl` (`owner` counted)."""
    total = await session.scalar(select(func.count()).select_from(SessionLeaseRow))
    others = await session.scalar(
        select(func.count()).where(WorkerRow.heartbeat_at > now - ttl, WorkerRow.id != owner)
    )
    return min(capacity, math.ceil((total or 0) / ((others or 0) + 1)))


class LeaseRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def heartbeat(self, worker: WorkerInfo) -> None:
        """Say the worker is alive (its row is made on the first beat)."""
        async with self._db.session() as session:
            row = await session.get(WorkerRow, worker.id)
            if row is None:
                session.add(
                    WorkerRow(
                        id=worker.id,
                        capacity=worker.capacity,
                        version=worker.version,
                        started_at=worker.started_at,
                        heartbeat_at=worker.heartbeat_at,
                    )
                )
            else:
                row.capacity, row.version = worker.capacity, worker.version
                row.started_at, row.heartbeat_at = worker.started_at, worker.heartbeat_at

    async def workers(self) -> list[WorkerInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(select(WorkerRow).order_by(WorkerRow.id))
            return [
                WorkerInfo(r.id, r.capacity, r.version, r.started_at, r.heartbeat_at) for r in rows
            ]

    async def claim(
        self, owner: str, *, capacity: int, ttl: timedelta, now: datetime
    ) -> list[Lease]:
        """Take unowned or expired sessions, oldest first, up to this worker's share (`_share_in`:
        its capacity, and an even split among the live workers; a worker alone takes all it
        can, and sheds the excess when others start: `excess`). Each taken session's epoch
        grows by one."""
        async with self._db.session() as session:
            share = await _share_in(session, owner, capacity, ttl, now)
            mine = await session.scalar(
                select(func.count()).where(
                    SessionLeaseRow.owner == owner, SessionLeaseRow.expires_at > now
                )
            )
            room = share - (mine or 0)
            if room <= 0:
                return []
            free = await session.execute(
                select(SessionLeaseRow.session_id, SessionLeaseRow.epoch, SessionLeaseRow.owner)
                .where(
                    or_(
                        SessionLeaseRow.owner.is_(None),
                        SessionLeaseRow.expires_at.is_(None),
                        SessionLeaseRow.expires_at <= now,
                    )
                )
                .order_by(SessionLeaseRow.session_id)
                .limit(room)
                .with_for_update(skip_locked=True)
            )
            taken = []
            for session_id, epoch, previous in free.all():
                moved = await session.execute(
                    update(SessionLeaseRow)
                    .where(
                        SessionLeaseRow.session_id == session_id,
                        SessionLeaseRow.epoch == epoch,
                        or_(
                            SessionLeaseRow.owner.is_(None),
                            SessionLeaseRow.expires_at.is_(None),
                            SessionLeaseRow.expires_at <= now,
                        ),
                    )
                    .values(owner=owner, epoch=epoch + 1, expires_at=now + ttl)
                    .execution_options(synchronize_session=False)
                )
                if moved.rowcount:  # type: ignore[attr-defined]
                    taken.append(Lease(session_id, owner, epoch + 1, now + ttl, previous))
            return taken

    async def excess(
        self, owner: str, *, capacity: int, ttl: timedelta, now: datetime
    ) -> list[int]:
        """The sessions the worker holds beyond its share (as `claim` counts it: another
        worker started, or its capacity went down), newest first: to stop and `release`, so
        the workers even out. Nothing is written here: the caller stops the browsers first."""
        async with self._db.session() as session:
            share = await _share_in(session, owner, capacity, ttl, now)
            held = await self._held_in(session, owner, now)
        return [lease.session_id for lease in reversed(held)][: max(0, len(held) - share)]

    async def renew(self, owner: str, *, ttl: timedelta, now: datetime) -> list[Lease]:
        """Extend every lease the worker still holds; what it holds afterwards. A lease that
        expired is not renewed (another worker may have taken it, or will): the worker must
        have stopped that session already, and may claim it again with a new epoch."""
        # The rows are found in a transaction of their own: in the next, the UPDATE comes
        # first, so what it reads back is the rows as they are after it (InnoDB takes the
        # snapshot of a repeatable read at its first plain read).
        async with self._db.session() as session:
            held = [lease.session_id for lease in await self._held_in(session, owner, now)]
        if not held:
            return []
        async with self._db.session() as session:
            await session.execute(
                update(SessionLeaseRow)
                .where(
                    SessionLeaseRow.session_id.in_(held),
                    SessionLeaseRow.owner == owner,
                    SessionLeaseRow.expires_at > now,
                )
                .values(expires_at=now + ttl)
                .execution_options(synchronize_session=False)
            )
            return await self._held_in(session, owner, now)

    async def owners(self, now: datetime) -> dict[int, Lease]:
        """Every lease valid at `now`, by session: who runs which number."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(
                    SessionLeaseRow.session_id,
                    SessionLeaseRow.owner,
                    SessionLeaseRow.epoch,
                    SessionLeaseRow.expires_at,
                ).where(SessionLeaseRow.owner.is_not(None), SessionLeaseRow.expires_at > now)
            )
            return {
                session_id: Lease(session_id, owner, epoch, expires_at)
                for session_id, owner, epoch, expires_at in rows.all()
                if owner is not None and expires_at is not None
            }

    async def held(self, owner: str, now: datetime) -> list[Lease]:
        async with self._db.session() as session:
            return await self._held_in(session, owner, now)

    async def release(self, owner: str, session_ids: Collection[int] | None = None) -> None:
        """Give up the worker's leases (all, or those of `session_ids`): another worker may
        claim them at once."""
        async with self._db.session() as session:
            owned = await self._owned_ids_in(session, owner)
            if session_ids is not None:
                owned = [session_id for session_id in owned if session_id in session_ids]
            await self._let_go_in(session, owner, owned)

    async def leave(self, owner: str) -> None:
        """A worker stopping for good: its leases go and it no longer counts as a live worker
        in anyone's share, in one transaction."""
        async with self._db.session() as session:
            await self._let_go_in(session, owner, await self._owned_ids_in(session, owner))
            await session.execute(delete(WorkerRow).where(WorkerRow.id == owner))

    @staticmethod
    async def _owned_ids_in(session: AsyncSession, owner: str) -> list[int]:
        """The sessions whose row names `owner`, expired or not, by a read that takes no lock
        (so it waits on none)."""
        rows = await session.scalars(
            select(SessionLeaseRow.session_id).where(SessionLeaseRow.owner == owner)
        )
        return list(rows)

    @staticmethod
    async def _let_go_in(session: AsyncSession, owner: str, session_ids: list[int]) -> None:
        """Clear `owner` from those rows, by primary key (see the module's note on locks)."""
        if not session_ids:
            return
        await session.execute(
            update(SessionLeaseRow)
            .where(SessionLeaseRow.session_id.in_(session_ids), SessionLeaseRow.owner == owner)
            .values(owner=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    async def _held_in(session: AsyncSession, owner: str, now: datetime) -> list[Lease]:
        rows = await session.execute(
            select(SessionLeaseRow.session_id, SessionLeaseRow.epoch, SessionLeaseRow.expires_at)
            .where(SessionLeaseRow.owner == owner, SessionLeaseRow.expires_at > now)
            .order_by(SessionLeaseRow.session_id)
        )
        return [
            Lease(session_id, owner, epoch, expires_at)
            for session_id, epoch, expires_at in rows.all()
            if expires_at is not None
        ]
