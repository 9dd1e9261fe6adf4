"""The delivery outbox: messages waiting for operator chats, delivered in order per chat.

A delivery keeps its text, its buttons (JSON) and at most one attachment, an image or a file,
in columns of their own. Before migration 0003 buttons and attachments were packed into the
text after a `\\x1e` separator; such rows (left by the migration, or written by a process still
running the old code during an upgrade) are still read.
"""

from __future__ import annotations

import base64
import builtins
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import PurePath

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import AlertDeliveryRow, AlertRow, AuditRow, ClientRow
from storage.records import AttachmentKind, AuditResult, Content, Delivery, DeliveryStatus
from storage.repos.outbox_audience import refusals

MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024
"""The largest image or file one delivery carries. The MySQL driver inlines parameters in the
statement, binary possibly as hex (twice the size), and MariaDB's default `max_allowed_packet`
is 16 MiB: 7 MiB fits either way."""
MAX_ATTACHMENT_NAME = 200  # the attachment_name column
_ENVELOPE = "\x1e"  # separated the text from the JSON of buttons and attachments before 0003
_DEFAULT_FILE_NAME = "waops.txt"

AUDIT_ACTOR = "outbox"
"""Who the audit log names for a dead letter (no operator id looks like it)."""


def delivery_row(
    chat_ref: str, content: Content, now: datetime, alert_id: int | None
) -> AlertDeliveryRow:
    """A pending delivery; raises ValueError for two attachments or one over the cap."""
    kind, name, data = _attachment(content)
    return AlertDeliveryRow(
        alert_id=alert_id,
        chat_ref=chat_ref,
        # A separator in new text would make the row read as the packed form.
        text=content.text.replace(_ENVELOPE, " "),
        buttons=[list(button) for button in content.buttons] or None,
        attachment_kind=kind,
        attachment_name=name,
        attachment=data,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _attachment(content: Content) -> tuple[str | None, str | None, bytes | None]:
    if content.image is not None and content.file_data is not None:
        raise ValueError("a delivery carries one attachment: an image or a file, not both")
    if content.image is not None:
        kind, name, data = AttachmentKind.IMAGE, None, content.image
    elif content.file_data is not None:
        kind, name = AttachmentKind.FILE, _short_name(content.file_name or _DEFAULT_FILE_NAME)
        data = content.file_data
    else:
        return None, None, None
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValueError(
            f"a {kind.value} of {len(data)} bytes is over the outbox limit "
            f"of {MAX_ATTACHMENT_BYTES} bytes"
        )
    return kind.value, name, data


def _short_name(name: str) -> str:
    """`name` within the column, keeping its extension."""
    if len(name) <= MAX_ATTACHMENT_NAME:
        return name
    suffix = PurePath(name).suffix[:20]
    return name[: MAX_ATTACHMENT_NAME - len(suffix)] + suffix


def _to_delivery(row: AlertDeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.alert_id,
        row.chat_ref,
        _content(row),
        DeliveryStatus(row.status),
        row.attempts,
        row.last_error,
        row.next_attempt_at,
    )


def _content(row: AlertDeliveryRow) -> Content:
    if _ENVELOPE in row.text:
        return decode_content(row.text)
    is_file = row.attachment_kind == AttachmentKind.FILE.value
    return Content(
        row.text,
        tuple((str(label), str(command)) for label, command in row.buttons or ()),
        row.attachment if row.attachment_kind == AttachmentKind.IMAGE.value else None,
        row.attachment_name if is_file else None,
        row.attachment if is_file else None,
    )


def encode_content(content: Content) -> str:
    """The packed form of deliveries before 0003: text, separator, JSON of the rest."""
    text = content.text.replace(_ENVELOPE, " ")
    extra: dict[str, object] = {}
    if content.buttons:
        extra["b"] = [list(b) for b in content.buttons]
    if content.image is not None:
        extra["img"] = base64.b64encode(content.image).decode("ascii")
    if content.file_data is not None:
        extra["fn"] = content.file_name or _DEFAULT_FILE_NAME
        extra["fd"] = base64.b64encode(content.file_data).decode("ascii")
    return f"{text}{_ENVELOPE}{json.dumps(extra)}" if extra else text


def decode_content(stored: str) -> Content:
    """Reads the packed form (`encode_content`); a text without separator is plain text."""
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


class OutboxRepo:
    """Messages waiting for operator chats, delivered in order per chat and retried."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self, chat_ref: str, contents: Sequence[Content], now: datetime, alert_id: int | None = None
    ) -> None:
        async with self._db.session() as session:
            session.add_all(delivery_row(chat_ref, c, now, alert_id) for c in contents)

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

    async def mark_dead(self, delivery: Delivery, error: str) -> None:
        """Give up on `delivery` after its last attempt failed with `error`, and say so in the
        audit log (under the alert's client, for its scoped admins), in one transaction."""
        attempts = delivery.attempts + 1
        async with self._db.session() as session:
            await session.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id == delivery.id)
                .values(attempts=attempts, status=DeliveryStatus.DEAD.value, last_error=error)
            )
            slug = None
            if delivery.alert_id is not None:
                slug = await session.scalar(
                    select(ClientRow.slug)
                    .join(AlertRow, AlertRow.client_id == ClientRow.id)
                    .where(AlertRow.id == delivery.alert_id)
                )
            session.add(
                AuditRow(
                    actor=AUDIT_ACTOR,
                    platform=delivery.chat_ref.partition(":")[0][:20],
                    command="deliver",
                    args=f"{delivery.chat_ref} #{delivery.id}",
                    result=AuditResult.ERROR.value,
                    client_slug=slug,
                    detail=f"gave up after {attempts} attempts: {error}",
                )
            )

    async def refusal(self, delivery: Delivery) -> str | None:
        """Why `delivery` may not go now (its chat lost the right to it), or None. Cheap: a
        few indexed look-ups, done right before each attempt."""
        async with self._db.session() as session:
            reasons = await refusals(session, [(delivery.id, delivery.chat_ref, delivery.alert_id)])
            return reasons.get(delivery.id)

    async def cancel(self, delivery_id: int, reason: str) -> None:
        async with self._db.session() as session:
            await _cancel(session, [delivery_id], reason)

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


async def revoke(session: AsyncSession, chat_refs: Collection[str], cause: str) -> int:
    """In the caller's transaction, after an operator was removed or lost clients: cancel what
    waits for `chat_refs` that no one allowed may receive any more; how many were cancelled."""
    if not chat_refs:
        return 0
    rows = (
        await session.execute(
            select(AlertDeliveryRow.id, AlertDeliveryRow.chat_ref, AlertDeliveryRow.alert_id).where(
                AlertDeliveryRow.status == DeliveryStatus.PENDING.value,
                AlertDeliveryRow.chat_ref.in_(list(chat_refs)),
            )
        )
    ).all()
    doomed = list(await refusals(session, [(r[0], r[1], r[2]) for r in rows]))
    await _cancel(session, doomed, cause)
    return len(doomed)


async def _cancel(session: AsyncSession, delivery_ids: Sequence[int], reason: str) -> None:
    if delivery_ids:
        await session.execute(
            update(AlertDeliveryRow)
            .where(
                AlertDeliveryRow.id.in_(list(delivery_ids)),
                AlertDeliveryRow.status == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.CANCELLED.value, last_error=f"cancelled: {reason}")
        )
