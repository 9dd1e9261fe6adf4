"""Clients: the businesses whose numbers waops runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.config import bump, to_client
from storage.db import AlreadyExists, Database, NotFound
from storage.models import ClientRow
from storage.records import Client
from storage.texts import phrase


class ClientRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, slug: str, name: str, region: str, timezone: str) -> Client:
        row = ClientRow(slug=slug, name=name, region=region, timezone=timezone)
        try:
            async with self._db.session() as session:
                session.add(row)
                await session.flush()
                await bump(session)
                return to_client(row)
        except IntegrityError as exc:
            raise AlreadyExists(phrase("record.client_exists", slug=slug)) from exc

    async def get(self, slug: str) -> Client:
        async with self._db.session() as session:
            row = await session.scalar(select(ClientRow).where(ClientRow.slug == slug))
            if row is None:
                raise NotFound(phrase("record.no_client", slug=slug))
            return to_client(row)

    async def get_by_id(self, client_id: int) -> Client:
        async with self._db.session() as session:
            row = await session.get(ClientRow, client_id)
            if row is None:
                raise NotFound(phrase("record.no_client_id", id=client_id))
            return to_client(row)

    async def list(self) -> list[Client]:
        async with self._db.session() as session:
            rows = await session.scalars(select(ClientRow).order_by(ClientRow.slug))
            return [to_client(row) for row in rows]
