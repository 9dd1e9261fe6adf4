"""WhatsApp sessions and their persisted state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import AlreadyExists, Database, NotFound
from storage.models import ClientRow, SessionLeaseRow, WaSessionRow, utcnow
from storage.records import SessionState, WaSession
from storage.texts import phrase


def to_session(row: WaSessionRow, client_slug: str) -> WaSession:
    return WaSession(
        id=row.id,
        client_id=row.client_id,
        client_slug=client_slug,
        name=row.name,
        state=SessionState(row.state),
        state_reason=row.state_reason,
        phone=row.phone,
        enabled=row.enabled,
        state_changed_at=row.state_changed_at,
        created_at=row.created_at,
    )


_WITH_SLUG = select(WaSessionRow, ClientRow.slug).join(
    ClientRow, ClientRow.id == WaSessionRow.client_id
)


class SessionRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, client_id: int, name: str) -> WaSession:
        try:
            async with self._db.session() as session:
                client = await session.get(ClientRow, client_id)
                if client is None:
                    raise NotFound(phrase("record.no_client_id", id=client_id))
                row = WaSessionRow(client_id=client_id, name=name)
                session.add(row)
                await session.flush()
                session.add(SessionLeaseRow(session_id=row.id, epoch=0))  # unowned
                return to_session(row, client.slug)
        except IntegrityError as exc:
            raise AlreadyExists(phrase("record.session_exists", name=name)) from exc

    async def get(self, client_slug: str, name: str) -> WaSession:
        async with self._db.session() as session:
            query = _WITH_SLUG.where(ClientRow.slug == client_slug, WaSessionRow.name == name)
            found = (await session.execute(query)).first()
            if found is None:
                raise NotFound(phrase("record.no_session", name=name, client=client_slug))
            return to_session(found[0], found[1])

    async def get_by_id(self, session_id: int) -> WaSession:
        async with self._db.session() as session:
            found = (await session.execute(_WITH_SLUG.where(WaSessionRow.id == session_id))).first()
            if found is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            return to_session(found[0], found[1])

    async def list(
        self, client_slug: str | None = None, *, enabled_only: bool = False
    ) -> list[WaSession]:
        query = _WITH_SLUG.order_by(ClientRow.slug, WaSessionRow.name)
        if client_slug is not None:
            query = query.where(ClientRow.slug == client_slug)
        if enabled_only:
            query = query.where(WaSessionRow.enabled.is_(True))
        async with self._db.session() as session:
            return [to_session(row, slug) for row, slug in (await session.execute(query)).all()]

    async def set_state(
        self,
        session_id: int,
        state: SessionState,
        reason: str | None = None,
        *,
        at: datetime | None = None,
    ) -> WaSession:
        """Record a state change; `state_changed_at` moves only when the state really changes."""
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            if row is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            if row.state != state.value:
                row.state_changed_at = at or utcnow()
            row.state = state.value
            row.state_reason = reason
            client = await session.get(ClientRow, row.client_id)
            assert client is not None
            return to_session(row, client.slug)

    async def set_phone(self, session_id: int, phone: str | None, wa_id: str | None) -> None:
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            if row is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            row.phone, row.wa_id = phone, wa_id
            if phone is not None and row.paired_at is None:
                row.paired_at = utcnow()

    async def pacing(self, session_id: int) -> dict[str, object] | None:
        """This number's pacing overrides (JSON), if any."""
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            if row is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            return None if row.pacing is None else dict(row.pacing)

    async def set_pacing(self, session_id: int, pacing: dict[str, object] | None) -> None:
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            if row is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            row.pacing = pacing

    async def set_enabled(self, session_id: int, enabled: bool) -> None:
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            if row is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            row.enabled = enabled

    async def remove(self, session_id: int) -> None:
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            if row is None:
                raise NotFound(phrase("record.no_session_id", id=session_id))
            await session.delete(row)
