"""A MariaDB database of a test's own, beside the one WAOPS_TEST_MYSQL_URL names: for tests
whose other processes (`waops run`, `waops worker`) write to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import MYSQL_SKIP, MYSQL_URL, with_database


@asynccontextmanager
async def own_database(suffix: str) -> AsyncIterator[str]:
    """`<test database>_<suffix>`, created empty and migrated; its URL; dropped afterwards.
    Skips the test when no MariaDB is configured."""
    if not MYSQL_URL:
        pytest.skip(MYSQL_SKIP)
    name = f"{make_url(MYSQL_URL).database}_{suffix}"
    async with Database(with_database(MYSQL_URL, "")) as admin:
        async with admin.engine.begin() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            await connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        url = with_database(MYSQL_URL, name)
        async with Database(url) as db:
            await upgrade(db)
        try:
            yield url
        finally:
            async with admin.engine.begin() as connection:
                await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
