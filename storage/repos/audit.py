"""The audit log: who ran what, when, and how it ended."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditRow
from storage.records import AuditEntry, AuditResult


def _to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        row.id,
        row.at,
        row.actor,
        row.platform,
        row.command,
        row.args,
        row.client_slug,
        AuditResult(row.result),
        row.detail,
    )


class AuditRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        actor: str,
        platform: str,
        command: str,
        args: str,
        result: AuditResult,
        *,
        client_slug: str | None = None,
        detail: str | None = None,
    ) -> AuditEntry:
        row = AuditRow(
            actor=actor,
            platform=platform,
            command=command,
            args=args,
            result=result.value,
            client_slug=client_slug,
            detail=detail,
        )
        async with self._db.session() as session:
            session.add(row)
            await session.flush()
            return _to_entry(row)

    async def recent(
        self,
        limit: int = 20,
        *,
        actor: str | None = None,
        client_slugs: Sequence[str] | None = None,
    ) -> list[AuditEntry]:
        """Newest first; `client_slugs` keeps entries about those clients (for scoped admins)."""
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if client_slugs is not None:
            query = query.where(AuditRow.client_slug.in_(list(client_slugs)))
        async with self._db.session() as session:
            return [_to_entry(row) for row in await session.scalars(query)]

    async def set_detail(self, entry_id: int, detail: str | None) -> None:
        """Replace one entry's detail (a stranger's row gains the count of later attempts)."""
        async with self._db.session() as session:
            row = await session.get(AuditRow, entry_id)
            if row is not None:
                row.detail = detail
