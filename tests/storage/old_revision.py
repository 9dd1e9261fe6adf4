"""A database at an old revision with one client, haby (id 1), on SQLite or MariaDB: the
starting point of the data-migration tests, which add the rows their migration rewrites.

On MariaDB it is a database of the test's own: a test that ends below head must not leave the
shared test database without the later tables (the `db` fixture migrates that one only once per
process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrate import downgrade, upgrade
from tests.support.mariadb import own_database

NOW = datetime(2026, 11, 2, tzinfo=UTC).replace(tzinfo=None)
BACKENDS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]


@asynccontextmanager
async def database_at(backend: str, sqlite_url: str, revision: str) -> AsyncIterator[Database]:
    """SQLite migrates a fresh file up to `revision`; MariaDB goes to head, then down to it."""
    if backend == "mysql":
        async with own_database(f"at_{revision}") as url, Database(url) as db:
            await downgrade(db, revision)
            yield await _with_haby(db)
    else:
        async with Database(sqlite_url) as db:
            await upgrade(db, revision)
            yield await _with_haby(db)


async def _with_haby(db: Database) -> Database:
    """Add the client every data-migration test starts from."""
    async with db.engine.begin() as c:
        await c.execute(
            text(
                "insert into clients (id, slug, name, region, timezone, created_at)"
                " values (1, 'haby', 'Haby', 'AR', 'America/Argentina/Buenos_Aires', :n)"
            ),
            {"n": NOW},
        )
    return db


async def rows(db: Database, query: str) -> list[tuple[object, ...]]:
    async with db.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(query))]
