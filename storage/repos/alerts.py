"""Alerts for operators: who receives them, the alerts themselves, and the delivery outbox.

An alert change and the deliveries it causes are written in one transaction, so an alert is
never recorded as notified without its messages waiting in the outbox (and the other way round).
Besides subscriptions, `alert_subscriptions` holds two marker kinds: `mute` rows (a chat is
quiet for a client until `muted_until`) and `reachable` rows (a chat that said /start).
"""

from __future__ import annotations

import base64
import builtins
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from storage.db import Database
from storage.models import (
    AlertDeliveryRow,
    AlertRow,
    AlertSubscriptionRow,
    ClientRow,
    OperatorClientRow,
    OperatorRow,
    WaSessionRow,
)
from storage.records import Role

ALL_KINDS = "*"
MUTE = "mute"
REACHABLE = "reachable"
MARKER_KINDS = frozenset({MUTE, REACHABLE})
_ENVELOPE = "\x1e"  # separates the text from the JSON of buttons and attachments


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notice(StrEnum):
    """Why operators are told about an alert now."""

    NEW = "new"
    ESCALATED = "escalated"
    REPEAT = "repeat"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Content:
    """What one delivery carries: one platform message. Buttons are (label, command) pairs."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    image: bytes | None = None
    file_name: str | None = None
    file_data: bytes | None = None


@dataclass(frozen=True)
class Recipient:
    chat_ref: str
    language: str | None


@dataclass(frozen=True)
class NewAlert:
    """An alert to raise. `one_shot` alerts (a hot lead) are stored resolved at once and
    deduplicated within the repeat interval; the others stay firing until resolved."""

    client_id: int | None
    session_id: int | None
    kind: str
    dedupe_key: str
    text: str
    one_shot: bool = False


@dataclass(frozen=True)
class Alert:
    id: int
    client_id: int | None
    client_slug: str | None
    client_timezone: str | None
    session_id: int | None
    session_name: str | None
    kind: str
    dedupe_key: str
    state: AlertState
    text: str
    occurrences: int
    first_at: datetime
    last_at: datetime
    last_notified_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int | None
    chat_ref: str
    content: Content
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime


@dataclass(frozen=True)
class FireResult:
    alert: Alert
    notice: Notice | None
    deliveries: int


Render = Callable[[Alert, Notice, Recipient], Sequence[Content]]
"""Turns an alert into the messages for one recipient (in their language, within limits)."""


def encode_content(content: Content) -> str:
    text = content.text.replace(_ENVELOPE, " ")
    extra: dict[str, object] = {}
    if content.buttons:
        extra["b"] = [list(b) for b in content.buttons]
    if content.image is not None:
        extra["img"] = base64.b64encode(content.image).decode("ascii")
    if content.file_data is not None:
        extra["fn"] = content.file_name or "waops.txt"
        extra["fd"] = base64.b64encode(content.file_data).decode("ascii")
    return f"{text}{_ENVELOPE}{json.dumps(extra)}" if extra else text


def decode_content(stored: str) -> Content:
    text, found, extra_json = stored.partition(_ENVELOPE)
    if not found:
        return Content(text)
    extra = json.loads(extra_json)
    data = extra.get("fd")
    image = extra.get("img")
    return Content(
        text,
        tuple((str(label), str(command)) for label, command in extra.get("b", ())),
        base64.b64decode(image) if image else None,
        extra.get("fn"),
        base64.b64decode(data) if data is not None else None,
    )


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
    ) -> builtins.list[Recipient]:
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
) -> list[Recipient]:
    """Chats to tell about a `kind` alert of a client, sorted; `needs_start` lists the chat
    prefixes (`tg`) where the bot may only write to chats marked reachable."""
    operators = {row.id: row for row in await session.scalars(select(OperatorRow))}
    scopes: dict[int, set[int]] = defaultdict(set)
    for operator_id, scoped_client in await session.execute(select(OperatorClientRow.__table__)):
        scopes[operator_id].add(scoped_client)

    def sees(operator_id: int) -> bool:
        scope = scopes[operator_id]
        return not scope or (client_id is not None and client_id in scope)

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
        Recipient(chat, language)
        for chat, language in sorted(chats.items())
        if chat not in muted and (chat.partition(":")[0] not in needs_start or chat in reachable)
    ]


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
                session.add(_delivery_row(recipient.chat_ref, content, now, row.id))
                count += 1
        return count


def _firing() -> Select[Any]:
    return select(AlertRow).where(AlertRow.state == AlertState.FIRING.value)


def _due(last: datetime | None, now: datetime, repeat_s: float) -> bool:
    return last is None or now - last >= timedelta(seconds=repeat_s)


def _delivery_row(
    chat_ref: str, content: Content, now: datetime, alert_id: int | None
) -> AlertDeliveryRow:
    return AlertDeliveryRow(
        alert_id=alert_id,
        chat_ref=chat_ref,
        text=encode_content(content),
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _to_delivery(row: AlertDeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.alert_id,
        row.chat_ref,
        decode_content(row.text),
        DeliveryStatus(row.status),
        row.attempts,
        row.last_error,
        row.next_attempt_at,
    )


class OutboxRepo:
    """Messages waiting for operator chats, delivered in order per chat and retried."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self, chat_ref: str, contents: Sequence[Content], now: datetime, alert_id: int | None = None
    ) -> None:
        async with self._db.session() as session:
            session.add_all(_delivery_row(chat_ref, c, now, alert_id) for c in contents)

    async def heads(self) -> builtins.list[Delivery]:
        """The oldest pending delivery of every chat (later ones wait behind it), by id."""
        first = (
            select(func.min(AlertDeliveryRow.id))
            .where(AlertDeliveryRow.status == DeliveryStatus.PENDING.value)
            .group_by(AlertDeliveryRow.chat_ref)
        )
        query = select(AlertDeliveryRow).where(AlertDeliveryRow.id.in_(first))
        async with self._db.session() as session:
            return [_to_delivery(r) for r in await session.scalars(query.order_by("id"))]

    async def mark_sent(self, delivery_id: int, now: datetime) -> None:
        await self._finish(delivery_id, status=DeliveryStatus.SENT.value, sent_at=now)

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        await self._finish(delivery_id, status=DeliveryStatus.FAILED.value, last_error=error)

    async def reschedule(self, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
        await self._finish(delivery_id, last_error=error, next_attempt_at=next_attempt_at)

    async def _finish(self, delivery_id: int, **values: object) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id == delivery_id)
                .values(attempts=AlertDeliveryRow.attempts + 1, **values)
            )

    async def of_chat(self, chat_ref: str) -> builtins.list[Delivery]:
        query = select(AlertDeliveryRow).where(AlertDeliveryRow.chat_ref == chat_ref)
        async with self._db.session() as session:
            return [_to_delivery(r) for r in await session.scalars(query.order_by("id"))]

    async def purge_sent(self, before: datetime) -> int:
        """Forget delivered messages older than `before` (housekeeping)."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(AlertDeliveryRow).where(
                    AlertDeliveryRow.status == DeliveryStatus.SENT.value,
                    AlertDeliveryRow.sent_at < before,
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
