"""Who receives operator alerts: subscriptions, mutes and reachable chats.

Besides subscriptions, `alert_subscriptions` holds two marker kinds: `mute` rows (a chat is
quiet for a client until `muted_until`) and `reachable` rows (a chat that said /start).
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from storage.db import Database
from storage.models import AlertSubscriptionRow, OperatorClientRow, OperatorRow
from storage.records import AlertRecipient, Role

ALL_KINDS = "*"
MUTE = "mute"
REACHABLE = "reachable"
MARKER_KINDS = frozenset({MUTE, REACHABLE})


class AlertSubscriptionRepo:
    """Who receives the alerts of a client: owners and admins who may see it, and the chats
    subscribed to it (operators and viewers opt in); muted and unreachable chats are skipped."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _set(self, chat_ref: str, client_id: int | None, kind: str, **values: object) -> None:
        async with self._db.session() as session:
            row = await session.scalar(_marker(chat_ref, client_id, kind))
            if row is None:
                row = AlertSubscriptionRow(chat_ref=chat_ref, client_id=client_id, kind=kind)
                session.add(row)
            for name, value in values.items():
                setattr(row, name, value)

    async def _remove(self, chat_ref: str, client_id: int | None, kind: str) -> bool:
        async with self._db.session() as session:
            row = await session.scalar(_marker(chat_ref, client_id, kind))
            if row is not None:
                await session.delete(row)
            return row is not None

    async def subscribe(
        self, chat_ref: str, client_id: int | None, kind: str = ALL_KINDS, *, operator_id: int
    ) -> None:
        """`chat_ref` receives `kind` alerts of the client (None: every client it may see)."""
        if kind in MARKER_KINDS:
            raise ValueError(f"{kind!r} is not an alert kind")
        await self._set(chat_ref, client_id, kind, operator_id=operator_id)

    async def unsubscribe(
        self, chat_ref: str, client_id: int | None, kind: str = ALL_KINDS
    ) -> bool:
        return await self._remove(chat_ref, client_id, kind)

    async def mute(self, chat_ref: str, client_id: int | None, until: datetime | None) -> None:
        """Nothing of that client reaches `chat_ref` before `until`; None lifts the mute."""
        if until is None:
            await self._remove(chat_ref, client_id, MUTE)
        else:
            await self._set(chat_ref, client_id, MUTE, muted_until=until)

    async def set_reachable(self, chat_ref: str, reachable: bool = True) -> None:
        """A chat where the bot may write first (a Telegram user said /start)."""
        if reachable:
            await self._set(chat_ref, None, REACHABLE)
        else:
            await self._remove(chat_ref, None, REACHABLE)

    async def is_reachable(self, chat_ref: str) -> bool:
        async with self._db.session() as session:
            return await session.scalar(_marker(chat_ref, None, REACHABLE)) is not None

    async def of_chat(
        self, chat_ref: str
    ) -> builtins.list[tuple[int | None, str, datetime | None]]:
        """(client id, kind, muted until) of every row of a chat, markers included."""
        query = select(AlertSubscriptionRow).where(AlertSubscriptionRow.chat_ref == chat_ref)
        async with self._db.session() as session:
            return [(r.client_id, r.kind, r.muted_until) for r in await session.scalars(query)]

    async def recipients(
        self, client_id: int | None, kind: str, now: datetime, needs_start: Collection[str] = ()
    ) -> builtins.list[AlertRecipient]:
        async with self._db.session() as session:
            return await recipients(session, client_id, kind, now, needs_start)


def _marker(chat_ref: str, client_id: int | None, kind: str) -> Select[Any]:
    client = (
        AlertSubscriptionRow.client_id.is_(None)
        if client_id is None
        else AlertSubscriptionRow.client_id == client_id
    )
    return select(AlertSubscriptionRow).where(
        AlertSubscriptionRow.chat_ref == chat_ref, client, AlertSubscriptionRow.kind == kind
    )


async def recipients(
    session: AsyncSession,
    client_id: int | None,
    kind: str,
    now: datetime,
    needs_start: Collection[str] = (),
) -> list[AlertRecipient]:
    """Chats to tell about a `kind` alert of a client, sorted; `needs_start` lists the chat
    prefixes (`tg`) where the bot may only write to chats marked reachable."""
    operators = {row.id: row for row in await session.scalars(select(OperatorRow))}
    scopes: dict[int, set[int]] = defaultdict(set)
    for operator_id, scoped_client in await session.execute(select(OperatorClientRow.__table__)):
        scopes[operator_id].add(scoped_client)

    def sees(operator_id: int) -> bool:
        # Explicit: a scoped operator whose clients were deleted has no rows and sees nothing.
        if operators[operator_id].all_clients:
            return True
        return client_id is not None and client_id in scopes[operator_id]

    chats: dict[str, str | None] = {
        op.platform_id: op.language
        for op in operators.values()
        if op.role in (Role.OWNER.value, Role.ADMIN.value) and sees(op.id)
    }
    rows = await session.scalars(
        select(AlertSubscriptionRow).where(
            or_(
                AlertSubscriptionRow.client_id.is_(None),
                AlertSubscriptionRow.client_id == client_id,
            )
        )
    )
    muted: set[str] = set()
    reachable: set[str] = set()
    for row in rows:
        if row.kind == MUTE:
            if row.muted_until is not None and row.muted_until > now:
                muted.add(row.chat_ref)
        elif row.kind == REACHABLE:
            reachable.add(row.chat_ref)
        elif row.kind in (ALL_KINDS, kind):
            operator = operators.get(row.operator_id) if row.operator_id is not None else None
            if row.operator_id is not None and (operator is None or not sees(operator.id)):
                continue
            chats.setdefault(row.chat_ref, operator.language if operator else None)
    return [
        AlertRecipient(chat, language)
        for chat, language in sorted(chats.items())
        if chat not in muted and (chat.partition(":")[0] not in needs_start or chat in reachable)
    ]
