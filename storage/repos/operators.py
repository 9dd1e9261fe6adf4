"""Operators: people allowed to run commands, by immutable platform id.

Their client scope is explicit: ALL_CLIENTS, or at least one client (rows that cascade away
with the client, so a scoped operator whose clients are deleted sees nothing). Removing an
operator or narrowing their scope cancels, in the same transaction, what the outbox still
holds for them and they may no longer receive.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import AlreadyExists, Database, LastOwner, NotFound
from storage.models import AlertSubscriptionRow, ClientRow, OperatorClientRow, OperatorRow
from storage.records import ALL_CLIENTS, ClientScope, Operator, Role
from storage.repos.outbox import revoke
from storage.texts import phrase


def _scope(scope: ClientScope) -> tuple[bool, Sequence[str]]:
    """(all clients?, slugs) of `scope`; an empty list is refused, never read as "all"."""
    if scope is ALL_CLIENTS:
        return True, ()
    if isinstance(scope, str) or not scope:
        raise ValueError(
            f"a client scope is ALL_CLIENTS or a list of at least one client, not {scope!r}"
        )
    return False, scope


async def _client_ids(session: AsyncSession, slugs: Sequence[str]) -> list[int]:
    if not slugs:
        return []
    rows = (
        await session.execute(select(ClientRow.slug, ClientRow.id).where(ClientRow.slug.in_(slugs)))
    ).all()
    found = {slug: client_id for slug, client_id in rows}
    missing = sorted(set(slugs) - set(found))
    if missing:
        raise NotFound(phrase("record.no_clients", slugs=", ".join(repr(s) for s in missing)))
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
        all_clients=bool(row.all_clients),
        language=row.language,
        display_name=row.display_name,
        created_at=row.created_at,
    )


async def _chats(session: AsyncSession, row: OperatorRow) -> set[str]:
    """Where the outbox may hold messages for this operator: their own id (a Telegram private
    chat id is the user id; Slack user ids are delivered through their DM) and every chat they
    subscribed (a Slack DM by its D... id, a group)."""
    subscribed = await session.scalars(
        select(AlertSubscriptionRow.chat_ref).where(AlertSubscriptionRow.operator_id == row.id)
    )
    return {row.platform_id, *subscribed}


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
        raise LastOwner(phrase("record.last_owner", id=row.platform_id))


class OperatorRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        platform_id: str,
        role: Role,
        client_slugs: ClientScope = ALL_CLIENTS,
        *,
        language: str | None = None,
        display_name: str | None = None,
    ) -> Operator:
        """A new operator of `client_slugs`: ALL_CLIENTS (the default) or named clients."""
        all_clients, slugs = _scope(client_slugs)
        try:
            async with self._db.session() as session:
                client_ids = await _client_ids(session, slugs)
                row = OperatorRow(
                    platform_id=platform_id,
                    role=role.value,
                    all_clients=all_clients,
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
            raise AlreadyExists(phrase("record.operator_exists", id=platform_id)) from exc

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
        client_slugs: ClientScope | None = None,
        language: str | None = None,
        keep_an_owner: bool = False,
    ) -> Operator:
        """Change what is given (None keeps it). A narrower scope cancels the queued alerts
        of the clients they lose, with the change."""
        scope = None if client_slugs is None else _scope(client_slugs)
        async with self._db.session() as session:
            row = await session.scalar(
                select(OperatorRow).where(OperatorRow.platform_id == platform_id)
            )
            if row is None:
                raise NotFound(phrase("record.no_operator", id=platform_id))
            if keep_an_owner and role is not None and role is not Role.OWNER:
                await _check_not_last_owner(session, row)
            if role is not None:
                row.role = role.value
            if language is not None:
                row.language = language
            if scope is not None:
                row.all_clients, slugs = scope
                client_ids = await _client_ids(session, slugs)
                await session.execute(
                    delete(OperatorClientRow).where(OperatorClientRow.operator_id == row.id)
                )
                session.add_all(
                    OperatorClientRow(operator_id=row.id, client_id=cid) for cid in client_ids
                )
                await session.flush()
                cause = f"operator {platform_id} no longer sees that client"
                await revoke(session, await _chats(session, row), cause)
            await session.flush()
            return await _to_operator(session, row)

    async def remove(self, platform_id: str, *, keep_an_owner: bool = False) -> None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(OperatorRow).where(OperatorRow.platform_id == platform_id)
            )
            if row is None:
                raise NotFound(phrase("record.no_operator", id=platform_id))
            if keep_an_owner:
                await _check_not_last_owner(session, row)
            chats = await _chats(session, row)  # before its subscriptions cascade away
            await session.delete(row)
            await session.flush()
            await revoke(session, chats, f"operator {platform_id} was removed")
