"""A database at an old revision with one client, haby (id 1), on SQLite or MariaDB: the
starting point of the data-migration tests, which add the rows their migration rewrites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrate import downgrade, upgrade
from tests.conftest import MYSQL_SKIP, MYSQL_URL, _migrate

NOW = datetime(2026, 11, 2, tzinfo=UTC).replace(tzinfo=None)
BACKENDS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]


@asynccontextmanager
async def database_at(backend: str, sqlite_url: str, revision: str) -> AsyncIterator[Database]:
    """SQLite migrates a fresh file up to `revision`; MariaDB goes to head, then down to it."""
    if backend == "mysql":
        if not MYSQL_URL:
            pytest.skip(MYSQL_SKIP)
        await _migrate(MYSQL_URL, drop_first=True)
        url = MYSQL_URL
    else:
        url = sqlite_url
    async with Database(url) as db:
        if backend == "mysql":
            await downgrade(db, revision)
        else:
            await upgrade(db, revision)
        async with db.engine.begin() as c:
            await c.execute(
                text(
                    "insert into clients (id, slug, name, region, timezone, created_at)"
                    " values (1, 'haby', 'Haby', 'AR', 'America/Argentina/Buenos_Aires', :n)"
                ),
                {"n": NOW},
            )
        yield db


async def rows(db: Database, query: str) -> list[tuple[object, ...]]:
    async with db.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(query))]
