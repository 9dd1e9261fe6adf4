"""Operators: people allowed to run commands, by immutable platform id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import AlreadyExists, Database, LastOwner, NotFound
from storage.models import ClientRow, OperatorClientRow, OperatorRow
from storage.records import Operator, Role


async def _client_ids(session: AsyncSession, slugs: Sequence[str]) -> list[int]:
    if not slugs:
        return []
    rows = (
        await session.execute(select(ClientRow.slug, ClientRow.id).where(ClientRow.slug.in_(slugs)))
    ).all()
    found = {slug: client_id for slug, client_id in rows}
    missing = sorted(set(slugs) - set(found))
    if missing:
        raise NotFound(f"no client {', '.join(repr(s) for s in missing)}")
    return [found[slug] for slug in slugs]


async def _to_operator(session: AsyncSession, row: OperatorRow) -> Operator:
    slugs = await session.scalars(
        select(ClientRow.slug)
        .join(OperatorClientRow, OperatorClientRow.client_id == ClientRow.id)
        .where(OperatorClientRow.operator_id == row.id)
        .order_by(ClientRow.slug)
    )
    return Operator(
        id=row.id,
        platform_id=row.platform_id,
        role=Role(row.role),
        client_slugs=tuple(slugs),
        language=row.language,
        display_name=row.display_name,
        created_at=row.created_at,
    )


async def _check_not_last_owner(session: AsyncSession, row: OperatorRow) -> None:
    """In the caller's transaction, with the owners locked, so two owners demoting each other
    at once cannot both succeed."""
    if row.role != Role.OWNER.value:
        return
    owners = list(
        await session.scalars(
            select(OperatorRow.id).where(OperatorRow.role == Role.OWNER.value).with_for_update()
        )
    )
    if len(owners) <= 1:
        raise LastOwner(f"{row.platform_id} is the last owner")


class OperatorRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        platform_id: str,
        role: Role,
        client_slugs: Sequence[str] = (),
        *,
        language: str | None = None,
        display_name: str | None = None,
    ) -> Operator:
        try:
            async with self._db.session() as session:
                client_ids = await _client_ids(session, client_slugs)
                row = OperatorRow(
                    platform_id=platform_id,
                    role=role.value,
                    language=language,
                    display_name=display_name,
                )
                session.add(row)
                await session.flush()
                session.add_all(
                    OperatorClientRow(operator_id=row.id, client_id=cid) for cid in client_ids
                )
                await session.flush()
                return await _to_operator(session, row)
        except IntegrityError as exc:
            raise AlreadyExists(f"operator {platform_id!r} exists already") from exc

    async def find(self, platform_id: str) -> Operator | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(OperatorRow).where(OperatorRow.platform_id == platform_id)
            )
            return None if row is None else await _to_operator(session, row)

    async def list(self) -> list[Operator]:
        async with self._db.session() as session:
            rows = list(
                await session.scalars(select(OperatorRow).order_by(OperatorRow.platform_id))
            )
            return [await _to_operator(session, row) for row in rows]

    async def update(
        self,
        platform_id: str,
        *,
        role: Role | None = None,
        client_slugs: Sequence[str] | None = None,
        language: str | None = None,
        keep_an_owner: bool = False,
    ) -> Operator:
        async with self._db.session() as session:
            row = await session.scalar(
                select(OperatorRow).where(OperatorRow.platform_id == platform_id)
            )
            if row is None:
                raise NotFound(f"no operator {platform_id!r}")
            if keep_an_owner and role is not None and role is not Role.OWNER:
                await _check_not_last_owner(session, row)
            if role is not None:
                row.role = role.value
            if language is not None:
                row.language = language
            if client_slugs is not None:
                client_ids = await _client_ids(session, client_slugs)
                await session.execute(
                    delete(OperatorClientRow).where(OperatorClientRow.operator_id == row.id)
                )
                session.add_all(
                    OperatorClientRow(operator_id=row.id, client_id=cid) for cid in client_ids
                )
            await session.flush()
            return await _to_operator(session, row)

    async def remove(self, platform_id: str, *, keep_an_owner: bool = False) -> None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(OperatorRow).where(OperatorRow.platform_id == platform_id)
            )
            if row is None:
                raise NotFound(f"no operator {platform_id!r}")
            if keep_an_owner:
                await _check_not_last_owner(session, row)
            await session.delete(row)
