"""The async engine and its sessions, for SQLite (aiosqlite, WAL) and MySQL/MariaDB (aiomysql)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.config import ConfigCache
from storage.lifecycle import TwoPhase
from storage.texts import Text

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StorageError(Exception):
    """Base of the errors storage raises for expected problems. Raised with a `Text`
    (storage/texts.py), `text` keeps it so the bot can say it in the operator's language."""

    def __init__(self, message: object = "") -> None:
        super().__init__(message)
        self.text: Text | None = message if isinstance(message, Text) else None


class NotFound(StorageError):
    """The record asked for does not exist."""


class AlreadyExists(StorageError):
    """A record with the same unique key exists already."""


class LastOwner(StorageError):
    """The change would leave no owner: someone must always be able to administer waops."""


class StorageUnavailable(StorageError):
    """The database could not be reached or answered with an operational error: retry later."""

    @property
    def deadlock(self) -> bool:
        """MariaDB/MySQL chose this transaction as a deadlock's victim (error 1213, "try
        restarting transaction"): it was rolled back whole and may run again at once."""
        orig = getattr(self.__cause__, "orig", None)
        args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
        return len(args) > 0 and args[0] == _MYSQL_DEADLOCK


_MYSQL_DEADLOCK = 1213  # ER_LOCK_DEADLOCK, mariadb.com/kb/en/mariadb-error-codes


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_database(url: str) -> str | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return database


def _idle_transaction_limit(seconds: int) -> Callable[[Any, Any], None]:
    """A connect hook: the server ends a transaction of this connection that sits idle for
    `seconds` (rolled back, the connection closed), so a process stopped inside one (SIGSTOP, a
    frozen VM) does not keep its row locks until it wakes. MariaDB has the setting itself
    (`idle_transaction_timeout`, 10.3+); MySQL has none, so there the connection's
    `wait_timeout` is shortened, which also closes it when idle outside a transaction (the pool
    pings before use and opens another: `pool_pre_ping`). Not tried on MySQL."""

    def limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
        variable = (
            "idle_transaction_timeout" if "mariadb" in str(version).lower() else "wait_timeout"
        )
        cursor.execute(f"SET SESSION {variable} = {int(seconds)}")
        cursor.close()

    return limit


def create_engine_for(url: str, *, idle_transaction_timeout_s: int | None = None) -> AsyncEngine:
    """An engine with the per-dialect settings waops relies on; `idle_transaction_timeout_s`
    (MariaDB and MySQL only) bounds how long a transaction may sit idle on the server."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url, pool_pre_ping=True, pool_recycle=3600, connect_args={"charset": "utf8mb4"}
    )
    if idle_transaction_timeout_s is not None:
        hook = _idle_transaction_limit(idle_transaction_timeout_s)
        event.listen(engine.sync_engine, "connect", hook)
    return engine


class Database(TwoPhase):
    """Owns the engine; `session()` yields a unit of work that commits on success."""

    def __init__(self, url: str, *, idle_transaction_timeout_s: int | None = None) -> None:
        """`idle_transaction_timeout_s`: for the processes of a split deployment, which share
        the database's row locks with each other (`create_engine_for`)."""
        self.url = url
        self.engine = create_engine_for(url, idle_transaction_timeout_s=idle_transaction_timeout_s)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Clients and AI settings as this process last read them (storage/config.py).
        self.config = ConfigCache()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def redacted_url(self) -> str:
        """The database URL with its password hidden, for banners and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed when the block ends, rolled back on error.

        Connection and operational failures surface as `StorageUnavailable`, so callers can
        retry them without knowing the driver's exception types.
        """
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable(f"database unavailable: {exc.orig or exc}") from exc

    async def run(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, deadlock_retries: int = 3
    ) -> T:
        """`work` in one transaction (`session()`). A deadlock's victim, rolled back whole by
        MariaDB/MySQL, runs again at once, up to `deadlock_retries` times: `work` must be safe
        to repeat from the start (it only reads and writes through the session)."""
        attempt = 0
        while True:
            try:
                async with self.session() as session:
                    return await work(session)
            except StorageUnavailable as exc:
                if not exc.deadlock or attempt >= deadlock_retries:
                    raise
                attempt += 1
                logger.info("a deadlock rolled a transaction back; running it again (%d)", attempt)

    async def ping(self) -> None:
        """One round trip to the database; `StorageUnavailable` when it does not answer."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable(f"database unavailable: {exc.orig or exc}") from exc

    async def shutdown(self) -> None:
        await self.engine.dispose()
