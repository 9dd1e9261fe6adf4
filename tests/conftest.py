"""Shared fixtures: a migrated database on SQLite and, when configured, on MariaDB."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

# PTB 22 warns on every RetryAfter unless told to use timedelta; the app sets this at start too.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database (`""`: the server alone)."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _per_worker(url: str | None) -> str | None:
    """Under pytest-xdist each worker process has a database of its own beside the named one
    (`<name>_gw0`, ...): the tests empty and migrate theirs as they go."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    return with_database(url, f"{make_url(url).database}_{worker}")


MYSQL_URL = _per_worker(os.environ.get("WAOPS_TEST_MYSQL_URL"))
MYSQL_SKIP = "WAOPS_TEST_MYSQL_URL is not set: MariaDB tests skipped (.ci/run sets it)"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") and not MYSQL_URL:
        raise pytest.UsageError("CI must run the MariaDB tests: set WAOPS_TEST_MYSQL_URL")


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run set-up work on its own loop in a thread: session fixtures may be first asked for
    from inside a test's running loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _create_if_missing(url: str) -> None:
    name = make_url(url).database
    async with Database(with_database(url, "")) as admin, admin.engine.begin() as connection:
        await connection.execute(
            text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
        )


async def _migrate(url: str, *, drop_first: bool) -> None:
    if drop_first:
        await _create_if_missing(url)
    async with Database(url) as db:
        if drop_first:
            async with db.engine.begin() as connection:
                await connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
                await connection.run_sync(Base.metadata.drop_all)
                await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
                await connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        await upgrade(db)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "waops.db"
    run_in_fresh_loop(_migrate(f"sqlite+aiosqlite:///{path}", drop_first=False))
    return path


@pytest.fixture(scope="session")
def mysql_ready() -> str:
    if not MYSQL_URL:
        pytest.skip(MYSQL_SKIP)
    run_in_fresh_loop(_migrate(MYSQL_URL, drop_first=True))
    return MYSQL_URL


async def _empty_mysql(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
        await connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated database: SQLite always, MariaDB when WAOPS_TEST_MYSQL_URL is set."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "waops.db")
        url = f"sqlite+aiosqlite:///{tmp_path / 'waops.db'}"
    else:
        url = request.getfixturevalue("mysql_ready")
    database = Database(url)
    if request.param == "mysql":
        await _empty_mysql(database)
    yield database
    await database.shutdown()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
