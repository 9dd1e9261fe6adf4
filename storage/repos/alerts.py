"""Operator alerts: raise, bump, repeat and resolve them.

An alert change and the deliveries it causes are written in one transaction, so an alert is
never recorded as notified without its messages waiting in the outbox (and the other way round).
Who receives them lives in storage/repos/alert_subscriptions.py, the outbox in
storage/repos/outbox.py.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from storage.db import Database
from storage.models import AlertRow, ClientRow, WaSessionRow
from storage.records import Alert, AlertRecipient, AlertState, Content, FireResult, NewAlert, Notice
from storage.repos.alert_subscriptions import recipients
from storage.repos.outbox import delivery_row

Render = Callable[[Alert, Notice, AlertRecipient], Sequence[Content]]
"""Turns an alert into the messages for one recipient (in their language, within limits)."""


async def _alert(session: AsyncSession, row: AlertRow) -> Alert:
    client = await session.get(ClientRow, row.client_id) if row.client_id else None
    wa = await session.get(WaSessionRow, row.session_id) if row.session_id else None
    return Alert(
        row.id,
        row.client_id,
        client.slug if client else None,
        client.timezone if client else None,
        row.session_id,
        wa.name if wa else None,
        row.kind,
        row.dedupe_key,
        AlertState(row.state),
        row.text,
        row.occurrences,
        row.first_at,
        row.last_at,
        row.last_notified_at,
        row.resolved_at,
    )


class AlertRepo:
    """Raise, bump, repeat and resolve alerts; each notice enqueues its deliveries atomically."""

    def __init__(self, db: Database, needs_start: Collection[str] = ("tg",)) -> None:
        self._db = db
        self._needs_start = tuple(needs_start)

    async def fire(
        self,
        new: NewAlert,
        now: datetime,
        *,
        repeat_s: float,
        render: Render,
        escalate: bool = True,
    ) -> FireResult:
        """Raise `new`, or bump the alert firing under its dedupe key.

        Operators are told when the alert is new, when its kind changed and `escalate` is set
        (down -> logged out), or when the last notice is `repeat_s` old; otherwise it is only
        counted.
        """
        async with self._db.session() as session:
            row = await session.scalar(
                select(AlertRow)
                .where(AlertRow.dedupe_key == new.dedupe_key)
                .order_by(AlertRow.id.desc())
                .limit(1)
            )
            recent = row is not None and (
                row.state == AlertState.FIRING.value
                or (new.one_shot and row.last_at > now - timedelta(seconds=repeat_s))
            )
            notice: Notice | None
            if row is None or not recent:
                row = AlertRow(
                    client_id=new.client_id,
                    session_id=new.session_id,
                    kind=new.kind,
                    dedupe_key=new.dedupe_key,
                    state=(AlertState.RESOLVED if new.one_shot else AlertState.FIRING).value,
                    text=new.text,
                    occurrences=1,
                    first_at=now,
                    last_at=now,
                    resolved_at=now if new.one_shot else None,
                )
                session.add(row)
                await session.flush()
                notice = Notice.NEW
            else:
                row.occurrences += 1
                row.last_at = now
                notice = None
                if escalate and row.kind != new.kind:
                    row.kind, row.text, notice = new.kind, new.text, Notice.ESCALATED
                elif _due(row.last_notified_at, now, repeat_s):
                    notice = Notice.REPEAT
            count = await self._notify(session, row, notice, now, render) if notice else 0
            return FireResult(await _alert(session, row), notice, count)

    async def resolve(
        self, dedupe_key: str, now: datetime, *, render: Render, text: str | None = None
    ) -> Alert | None:
        """End the firing alert of that key, once; operators who were told hear it ended.
        `text` replaces the alert's detail (what the resolved notice should say)."""
        async with self._db.session() as session:
            row = await session.scalar(_firing().where(AlertRow.dedupe_key == dedupe_key))
            if row is None:
                return None
            row.state, row.resolved_at = AlertState.RESOLVED.value, now
            if text is not None:
                row.text = text
            if row.last_notified_at is not None:
                await self._notify(session, row, Notice.RESOLVED, now, render)
            return await _alert(session, row)

    async def repeat_due(
        self, now: datetime, *, repeat_s: float, kinds: Collection[str], render: Render
    ) -> int:
        """Tell again about alerts of `kinds` still firing `repeat_s` after their last notice."""
        cutoff = now - timedelta(seconds=repeat_s)
        query = _firing().where(AlertRow.kind.in_(kinds), AlertRow.last_notified_at <= cutoff)
        async with self._db.session() as session:
            rows = list(await session.scalars(query.order_by(AlertRow.id)))
            for row in rows:
                await self._notify(session, row, Notice.REPEAT, now, render)
            return len(rows)

    async def is_firing(self, dedupe_key: str) -> bool:
        async with self._db.session() as session:
            return (
                await session.scalar(_firing().where(AlertRow.dedupe_key == dedupe_key)) is not None
            )

    async def firing(self, client_ids: Collection[int] | None = None) -> builtins.list[Alert]:
        """Alerts firing now, oldest first; `client_ids` limits them to those clients."""
        query = _firing().order_by(AlertRow.client_id, AlertRow.session_id, AlertRow.first_at)
        if client_ids is not None:
            query = query.where(AlertRow.client_id.in_(client_ids))
        async with self._db.session() as session:
            return [await _alert(session, row) for row in await session.scalars(query)]

    async def _notify(
        self, session: AsyncSession, row: AlertRow, notice: Notice, now: datetime, render: Render
    ) -> int:
        row.last_notified_at = now
        await session.flush()
        alert = await _alert(session, row)
        count = 0
        for recipient in await recipients(session, row.client_id, row.kind, now, self._needs_start):
            for content in render(alert, notice, recipient):
                session.add(delivery_row(recipient.chat_ref, content, now, row.id))
                count += 1
        return count


def _firing() -> Select[Any]:
    return select(AlertRow).where(AlertRow.state == AlertState.FIRING.value)


def _due(last: datetime | None, now: datetime, repeat_s: float) -> bool:
    return last is None or now - last >= timedelta(seconds=repeat_s)
