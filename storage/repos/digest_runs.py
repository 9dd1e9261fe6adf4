"""Where each client's scheduled digests stand: the end of the last one sent.

Only the process that runs the digests writes here (`waops run`, or the active `waops bot`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import DigestRunRow


class DigestRunRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def last_ends(self) -> dict[int, datetime]:
        """Per client id, the end of its last scheduled digest (clients never sent one are
        missing)."""
        async with self._db.session() as session:
            rows = await session.execute(select(DigestRunRow.client_id, DigestRunRow.last_end))
            return {client_id: last_end for client_id, last_end in rows}

    async def last_end(self, client_id: int) -> datetime | None:
        async with self._db.session() as session:
            row = await session.get(DigestRunRow, client_id)
            return None if row is None else row.last_end

    async def record(self, client_id: int, end: datetime) -> None:
        """The scheduled digest of the period up to `end` is queued."""
        async with self._db.session() as session:
            row = await session.get(DigestRunRow, client_id)
            if row is None:
                session.add(DigestRunRow(client_id=client_id, last_end=end))
            else:
                row.last_end = end
