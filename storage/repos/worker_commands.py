"""What `waops bot` asks of the worker that owns a number (issue 17): command rows.

The bot writes a row for a session (`submit`); the worker holding that session's lease takes
the rows of its sessions in id order (`take`, `FOR UPDATE SKIP LOCKED` on MariaDB/MySQL so two
takers never wait on each other) and writes the answer (`finish`). The bot reads the answer
(`get`). A row nobody took in time is withdrawn by the bot with an UPDATE guarded by
`taken_at IS NULL` (`withdraw`), so it is either withdrawn or taken, never both: a send the
bot gave up on is never made later. Answered rows are pruned after a day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select, update

from storage.db import Database, NotFound
from storage.models import WorkerCommandRow
from storage.records import WorkerCommand
from storage.texts import phrase

WITHDRAWN = "Withdrawn"  # the error of a row the bot withdrew before any worker took it


class WorkerCommandRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def submit(self, session_id: int, kind: str, args: str, now: datetime) -> int:
        row = WorkerCommandRow(session_id=session_id, kind=kind, args=args, created_at=now)
        async with self._db.session() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def take(
        self, worker: str, session_ids: Collection[int], now: datetime, *, limit: int = 20
    ) -> list[WorkerCommand]:
        """The oldest untaken commands for `session_ids` (the sessions `worker` holds), now
        marked taken by it."""
        if not session_ids:
            return []
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(WorkerCommandRow)
                    .where(
                        WorkerCommandRow.session_id.in_(session_ids),
                        WorkerCommandRow.taken_at.is_(None),
                    )
                    .order_by(WorkerCommandRow.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                row.taken_by, row.taken_at = worker, now
            return [_record(row) for row in rows]

    async def finish(
        self,
        command_id: int,
        now: datetime,
        *,
        result: str | None = None,
        error: str | None = None,
        detail: str | None = None,
    ) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(WorkerCommandRow)
                .where(WorkerCommandRow.id == command_id)
                .values(done_at=now, result=result, error=error, detail=detail)
                .execution_options(synchronize_session=False)
            )

    async def get(self, command_id: int) -> WorkerCommand:
        async with self._db.session() as session:
            row = await session.get(WorkerCommandRow, command_id)
            if row is None:
                raise NotFound(phrase("record.no_worker_command", id=command_id))
            return _record(row)

    async def withdraw(self, command_id: int, now: datetime) -> bool:
        """Withdraw a command no worker has taken yet; False when one already took it."""
        async with self._db.session() as session:
            moved = await session.execute(
                update(WorkerCommandRow)
                .where(WorkerCommandRow.id == command_id, WorkerCommandRow.taken_at.is_(None))
                .values(taken_by="-", taken_at=now, done_at=now, error=WITHDRAWN)
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def prune(self, before: datetime) -> int:
        """Delete commands made before `before` that are answered or were never taken."""
        async with self._db.session() as session:
            gone = await session.execute(
                delete(WorkerCommandRow).where(
                    WorkerCommandRow.created_at < before,
                    (WorkerCommandRow.done_at.is_not(None)) | (WorkerCommandRow.taken_at.is_(None)),
                )
            )
            return int(gone.rowcount)  # type: ignore[attr-defined]


def _record(row: WorkerCommandRow) -> WorkerCommand:
    return WorkerCommand(
        row.id,
        row.session_id,
        row.kind,
        row.args,
        row.created_at,
        row.taken_by,
        row.taken_at,
        row.done_at,
        row.result,
        row.error,
        row.detail,
    )
