"""Messages of every conversation; a WhatsApp id is stored once per session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.db import Database
from storage.models import CampaignRow, ContactRow, MessageRow, utcnow
from storage.records import (
    MEDIA_KINDS,
    CampaignStatus,
    ConversationSummary,
    Direction,
    MediaInfo,
    MediaState,
    Message,
    MessageStatus,
    NewMessage,
    Origin,
    key_id_of,
)

_IN_CHUNK = 500  # ids per IN (...): well under SQLite's and MariaDB's parameter limits
# Receipts only move a status forward along this order.
_STATUS_RANK = {
    MessageStatus.FAILED: 0,
    MessageStatus.RECEIVED: 0,
    MessageStatus.PENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
}


# Campaigns that may still send their attachment: its file must outlive any retention.
_LIVE_CAMPAIGNS = (
    CampaignStatus.DRAFT.value,
    CampaignStatus.SCHEDULED.value,
    CampaignStatus.RUNNING.value,
    CampaignStatus.PAUSED.value,
)


def _media_of(row: MessageRow) -> MediaInfo | None:
    """The row's media, or None for text: a media type, or any media state but 'none'."""
    state = MediaState(row.media_state or MediaState.NONE.value)
    if row.type not in MEDIA_KINDS and state is MediaState.NONE:
        return None
    return MediaInfo(
        kind=row.type,
        mimetype=row.mimetype,
        size_bytes=row.size_bytes,
        duration_s=row.duration_s,
        filename=row.filename,
        sha256=row.media_sha256,
        state=state,
        transcript=row.transcript,
    )


def to_message(row: MessageRow) -> Message:
    return Message(
        id=row.id,
        client_id=row.client_id,
        session_id=row.session_id,
        contact_id=row.contact_id,
        direction=Direction(row.direction),
        origin=Origin(row.origin),
        wa_message_id=row.wa_message_id,
        body=row.body,
        type=row.type,
        status=MessageStatus(row.status),
        sent_at=row.sent_at,
        campaign_id=row.campaign_id,
        intent=row.intent,
        media=_media_of(row),
    )


def message_values(new: NewMessage) -> dict[str, Any]:
    """The columns of `new`'s row, by name (those the row gets from it; the others keep their
    defaults); a media message's kind is its type, whatever `new.type` says. Plain values, for
    the Core paths that run per message: an ORM row costs more to build than to insert."""
    media = new.media
    return {
        "mimetype": None if media is None else media.mimetype,
        "size_bytes": None if media is None else media.size_bytes,
        "duration_s": None if media is None else media.duration_s,
        "filename": None if media is None else media.filename,
        "media_sha256": None if media is None else media.sha256,
        "media_state": (MediaState.NONE if media is None else media.state).value,
        "transcript": None if media is None else media.transcript,
        "client_id": new.client_id,
        "session_id": new.session_id,
        "contact_id": new.contact_id,
        "direction": new.direction.value,
        "origin": new.origin.value,
        "wa_message_id": new.wa_message_id,
        "wa_key_id": new.wa_key_id,
        "body": new.body,
        "type": new.type if media is None else media.kind,
        "status": new.status.value,
        "campaign_id": new.campaign_id,
        "intent": new.intent,
        "sent_at": new.sent_at,
    }


def message_row(new: NewMessage) -> MessageRow:
    """The ORM row for `new` (`message_values`)."""
    return MessageRow(**message_values(new))


async def insert_message(session: AsyncSession, new: NewMessage) -> Message:
    """Add the message and move its contact's `last_message_at`/`last_direction` forward, in
    the caller's transaction. Raises `IntegrityError` (at flush) for a WhatsApp id the session
    stored already; `stored_keys` asks first, for a caller that must not fail."""
    row = message_row(new)
    session.add(row)
    await session.flush()
    contact = await session.get(ContactRow, new.contact_id)
    if contact is not None and (
        contact.last_message_at is None or contact.last_message_at <= new.sent_at
    ):
        contact.last_message_at = new.sent_at
        contact.last_direction = new.direction.value
    return to_message(row)


async def set_intent_in(session: AsyncSession, message_id: int, intent: str) -> None:
    """What the rules or the model made of the message, in the caller's transaction."""
    await session.execute(
        update(MessageRow)
        .where(MessageRow.id == message_id)
        .values(intent=intent)
        .execution_options(synchronize_session=False)
    )


async def conversation_in(session: AsyncSession, contact_id: int, limit: int) -> list[Message]:
    """`MessageRepo.conversation` in the caller's transaction: newest first."""
    query = (
        select(MessageRow)
        .where(MessageRow.contact_id == contact_id)
        .order_by(MessageRow.sent_at.desc(), MessageRow.id.desc())
        .limit(limit)
    )
    return [to_message(row) for row in await session.scalars(query)]


_MESSAGES = cast(Table, MessageRow.__table__)
_CONTACTS = cast(Table, ContactRow.__table__)
# The contact's newest message moves forward only (as in `MessageRepo.add`).
_LAST_MESSAGE = (
    update(_CONTACTS)
    .where(
        _CONTACTS.c.id == bindparam("contact_id"),
        or_(
            _CONTACTS.c.last_message_at.is_(None),
            _CONTACTS.c.last_message_at <= bindparam("sent_at"),
        ),
    )
    .values(last_message_at=bindparam("sent_at"), last_direction=bindparam("direction"))
)


async def insert_messages(session: AsyncSession, news: Sequence[NewMessage]) -> list[Message]:
    """`insert_message` for many messages of known WhatsApp ids (no two the same), in the
    caller's transaction and in three statements: one executemany INSERT (a single cursor call
    on SQLite, one multi-row INSERT on MySQL), one read of the rows back by their unique key
    (without a sentinel SQLite's RETURNING gives no order, so SQLAlchemy's flush would insert
    them one by one), and one executemany of the contacts' last message, which moves forward
    only (two messages of one contact end on the later). Raises `IntegrityError` as
    `insert_message` does."""
    if any(new.session_id is None or new.wa_key_id is None for new in news):
        raise ValueError("insert_messages needs each message's session and WhatsApp id")
    stored_at = utcnow()
    columns = [column.key for column in _MESSAGES.columns if column.key not in ("id", "stored_at")]
    values = []
    for new in news:
        given = message_values(new)  # every column but these two, so every row has the same keys
        values.append({key: given.get(key) for key in columns} | {"stored_at": stored_at})
    await session.execute(insert(_MESSAGES), values)
    query = select(MessageRow).where(
        MessageRow.session_id.in_({new.session_id for new in news}),
        MessageRow.wa_key_id.in_({new.wa_key_id for new in news}),
    )
    rows = {(row.session_id, row.wa_key_id): row for row in await session.scalars(query)}
    await session.execute(
        _LAST_MESSAGE,
        [
            {"contact_id": new.contact_id, "sent_at": new.sent_at, "direction": new.direction.value}
            for new in news
        ],
    )
    return [to_message(rows[(new.session_id, new.wa_key_id)]) for new in news]


async def stored_keys(
    session: AsyncSession, news: Sequence[NewMessage]
) -> set[tuple[int | None, str | None]]:
    """Which of `news` this database holds already, as (session, key id) pairs: one read."""
    keyed = [new for new in news if new.session_id is not None and new.wa_key_id is not None]
    if not keyed:
        return set()
    query = select(MessageRow.session_id, MessageRow.wa_key_id).where(
        MessageRow.session_id.in_({new.session_id for new in keyed}),
        MessageRow.wa_key_id.in_({new.wa_key_id for new in keyed}),
    )
    return {(session_id, key) for session_id, key in (await session.execute(query)).all()}


async def record_message(connection: AsyncConnection, new: NewMessage) -> None:
    """Store a message inside the caller's transaction, with the contact's last message, in
    two statements and no read back: for a path that runs it per send (a campaign's `sent`).
    A WhatsApp id this session stored already raises `IntegrityError`."""
    # None leaves a column to its default, as an ORM row would.
    values = {key: value for key, value in message_values(new).items() if value is not None}
    await connection.execute(insert(_MESSAGES), values)
    await connection.execute(
        _LAST_MESSAGE,
        {"contact_id": new.contact_id, "sent_at": new.sent_at, "direction": new.direction.value},
    )


class MessageRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, new: NewMessage) -> Message | None:
        """Store a message; None when this session already stored that WhatsApp id."""
        try:
            async with self._db.session() as session:
                return await insert_message(session, new)
        except IntegrityError:
            if new.wa_message_id is None or new.session_id is None:
                raise
            return None

    async def advance_status(
        self, session_id: int, wa_message_id: str, status: MessageStatus
    ) -> bool:
        """Move a message's status forward; never back. True when it moved.

        Matched by the key's own id: a receipt may name the chat by its @lid while the send
        returned the @c.us form, or the other way round.
        """
        allowed_from = [s.value for s, rank in _STATUS_RANK.items() if rank < _STATUS_RANK[status]]
        if status is MessageStatus.FAILED:
            allowed_from = [MessageStatus.PENDING.value, MessageStatus.SENT.value]
        async with self._db.session() as session:
            result = await session.execute(
                update(MessageRow)
                .where(
                    MessageRow.session_id == session_id,
                    MessageRow.wa_key_id == key_id_of(wa_message_id),
                    MessageRow.direction == Direction.OUT.value,
                    MessageRow.status.in_(allowed_from),
                )
                .values(status=status.value)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_intent(self, message_id: int, intent: str) -> None:
        async with self._db.session() as session:
            await set_intent_in(session, message_id, intent)

    async def conversation(self, contact_id: int, limit: int = 20) -> list[Message]:
        """The last `limit` messages with a contact, newest first."""
        async with self._db.session() as session:
            return await conversation_in(session, contact_id, limit)

    async def recent_conversations(
        self,
        client_id: int,
        limit: int = 20,
        *,
        unanswered: bool = False,
        intent: str | None = None,
    ) -> list[ConversationSummary]:
        """Contacts of a client with the newest activity first, with their last message.

        `unanswered` keeps chats whose last message came from the contact; `intent` keeps
        contacts who sent a message with that intent (for example hot_lead). Three queries
        whatever the page size: the contacts, their last messages, their message counts.
        """
        query = (
            select(ContactRow)
            .where(ContactRow.client_id == client_id, ContactRow.last_message_at.is_not(None))
            .order_by(ContactRow.last_message_at.desc(), ContactRow.id.desc())
            .limit(limit)
        )
        if unanswered:
            query = query.where(ContactRow.last_direction == Direction.IN.value)
        if intent is not None:
            query = query.where(
                ContactRow.id.in_(
                    select(MessageRow.contact_id).where(
                        MessageRow.client_id == client_id, MessageRow.intent == intent
                    )
                )
            )
        async with self._db.session() as session:
            contacts = list(await session.scalars(query))
            ids = [contact.id for contact in contacts]
            if not ids:
                return []
            newest = (
                select(
                    MessageRow.id,
                    func.row_number()
                    .over(
                        partition_by=MessageRow.contact_id,
                        order_by=(MessageRow.sent_at.desc(), MessageRow.id.desc()),
                    )
                    .label("rank"),
                )
                .where(MessageRow.contact_id.in_(ids))
                .subquery()
            )
            last = {
                row.contact_id: row
                for row in await session.scalars(
                    select(MessageRow)
                    .join(newest, newest.c.id == MessageRow.id)
                    .where(newest.c.rank == 1)
                )
            }
            counts = dict(
                (
                    await session.execute(
                        select(MessageRow.contact_id, func.count())
                        .where(MessageRow.contact_id.in_(ids))
                        .group_by(MessageRow.contact_id)
                    )
                ).all()
            )
        return [
            ConversationSummary(
                contact_id=contact.id,
                phone=contact.phone,
                lid=contact.lid,
                name=contact.name,
                last_at=last[contact.id].sent_at,
                last_body=last[contact.id].body,
                last_direction=Direction(last[contact.id].direction),
                messages=int(counts.get(contact.id, 0)),
            )
            for contact in contacts
            if contact.id in last
        ]

    async def newest_inbound_at(self, session_id: int) -> datetime | None:
        """When the newest message a contact wrote to this session was written (None when no
        contact has written yet): where a catch-up after a restart starts looking."""
        query = select(func.max(MessageRow.sent_at)).where(
            MessageRow.session_id == session_id, MessageRow.direction == Direction.IN.value
        )
        async with self._db.session() as session:
            return await session.scalar(query)

    async def known_key_ids(self, session_id: int, key_ids: Iterable[str]) -> set[str]:
        """Which of these WhatsApp key ids this session has stored already."""
        wanted = sorted(set(key_ids))
        known: set[str] = set()
        async with self._db.session() as session:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                query = select(MessageRow.wa_key_id).where(
                    MessageRow.session_id == session_id, MessageRow.wa_key_id.in_(chunk)
                )
                known.update(k for k in await session.scalars(query) if k is not None)
        return known

    async def last_session_of(self, contact_id: int) -> int | None:
        """The session that last exchanged a message with this contact."""
        query = (
            select(MessageRow.session_id)
            .where(MessageRow.contact_id == contact_id, MessageRow.session_id.is_not(None))
            .order_by(MessageRow.sent_at.desc(), MessageRow.id.desc())
            .limit(1)
        )
        async with self._db.session() as session:
            return await session.scalar(query)

    async def set_media_state(
        self,
        message_id: int,
        state: MediaState,
        *,
        sha256: str | None = None,
        size_bytes: int | None = None,
    ) -> None:
        """Record how fetching a message's file ended; `sha256`/`size_bytes` when given (the
        stored file's), else what the row had."""
        values: dict[str, object] = {"media_state": state.value}
        if sha256 is not None:
            values["media_sha256"] = sha256
        if size_bytes is not None:
            values["size_bytes"] = size_bytes
        async with self._db.session() as session:
            await session.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(**values)
            )

    async def media_state(self, message_id: int) -> MediaState | None:
        """Where fetching the message's file stands now; None for a message gone (forgotten)."""
        async with self._db.session() as session:
            state = await session.scalar(
                select(MessageRow.media_state).where(MessageRow.id == message_id)
            )
        return None if state is None else MediaState(state)

    async def stranded_media(self, session_id: int) -> list[Message]:
        """The session's messages whose file is still `pending`, oldest first: being fetched,
        or left so by a run that stopped or a session that dropped (engine/listener.py)."""
        query = (
            select(MessageRow)
            .where(
                MessageRow.session_id == session_id,
                MessageRow.media_state == MediaState.PENDING.value,
            )
            .order_by(MessageRow.id)
        )
        async with self._db.session() as session:
            return [to_message(row) for row in await session.scalars(query)]

    async def set_transcript(self, message_id: int, text: str) -> None:
        """What a voice note or audio said; kept apart from `body`, which is the caption."""
        async with self._db.session() as session:
            await session.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(transcript=text)
            )

    async def media_messages(self, client_id: int, contact_id: int, *, limit: int) -> list[Message]:
        """The contact's last `limit` media messages (any state), newest first."""
        query = (
            select(MessageRow)
            .where(
                MessageRow.client_id == client_id,
                MessageRow.contact_id == contact_id,
                MessageRow.type.in_(sorted(MEDIA_KINDS)),
            )
            .order_by(MessageRow.sent_at.desc(), MessageRow.id.desc())
            .limit(limit)
        )
        async with self._db.session() as session:
            return [to_message(row) for row in await session.scalars(query)]

    async def media_in_use(self) -> set[str]:
        """Every sha256 something still needs: a message whose file is not expired, or a
        campaign that may still send its attachment. The sweep keeps these files."""
        messages = select(MessageRow.media_sha256).where(
            MessageRow.media_sha256.is_not(None),
            MessageRow.media_state != MediaState.EXPIRED.value,
        )
        campaigns = select(CampaignRow.media_sha256).where(
            CampaignRow.media_sha256.is_not(None), CampaignRow.status.in_(_LIVE_CAMPAIGNS)
        )
        async with self._db.session() as session:
            found = set(await session.scalars(messages.distinct()))
            found.update(await session.scalars(campaigns.distinct()))
        return {sha for sha in found if sha is not None}

    async def expire_media(self, older_than: datetime) -> list[str]:
        """Mark the files stored before `older_than` expired; the sha256s nothing needs any
        more (see `media_in_use`), which the caller deletes from the media store.

        Counted from `stored_at` (when waops got the message), not `sent_at`: a message caught
        up days late still gets the whole retention.
        """
        stale = select(MessageRow.id, MessageRow.media_sha256).where(
            MessageRow.media_state == MediaState.STORED.value,
            MessageRow.stored_at < older_than,
        )
        async with self._db.session() as session:
            rows = (await session.execute(stale)).all()
            ids = [row_id for row_id, _sha in rows]
            for start in range(0, len(ids), _IN_CHUNK):
                await session.execute(
                    update(MessageRow)
                    .where(MessageRow.id.in_(ids[start : start + _IN_CHUNK]))
                    .values(media_state=MediaState.EXPIRED.value)
                )
        candidates = {sha for _id, sha in rows if sha is not None}
        if not candidates:
            return []
        return sorted(candidates - await self.media_in_use())

    async def contact_media(self, contact_id: int) -> set[str]:
        """The sha256s of a contact's files (any state): what `/forget` deletes, once
        `media_in_use` no longer names them (another contact may have sent the same file)."""
        query = select(MessageRow.media_sha256).where(
            MessageRow.contact_id == contact_id, MessageRow.media_sha256.is_not(None)
        )
        async with self._db.session() as session:
            return {sha for sha in await session.scalars(query.distinct()) if sha is not None}
