"""Alembic migrations, run programmatically on our async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.db import Database
from storage.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database to `revision` (head by default)."""
    await _migrate(db, lambda config: command.upgrade(config, revision))


async def downgrade(db: Database, revision: str) -> None:
    """Take the database back to `revision` (tests and operators undoing a release)."""
    await _migrate(db, lambda config: command.downgrade(config, revision))


async def _migrate(db: Database, step: Callable[[Config], None]) -> None:
    """Run migrations in one transaction. On SQLite, foreign keys are off meanwhile: batch
    migrations rebuild a table by dropping it, and with foreign keys on that DROP cascades to
    every child row (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
    Changes", step 1). The PRAGMA only works outside a transaction; the check runs before the
    commit, so a migration that breaks a reference fails instead of committing."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config)
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")

    sqlite = db.engine.dialect.name == "sqlite"
    async with db.engine.connect() as connection:
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(run)
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def current_revision(db: Database) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def schema_drift(db: Database) -> list[object]:
    """Differences between the models and the migrated database; empty when they agree."""

    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as connection:
        return await connection.run_sync(compare)


class SchemaNotReady(Exception):
    """The database has no tables yet, or is behind the code's migrations."""


def head_revision() -> str | None:
    """The newest migration the code ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def ensure_schema(db: Database) -> None:
    """Raise SchemaNotReady with the command to run when the schema is not at head."""
    current, head = await current_revision(db), head_revision()
    if current != head:
        state = (
            "has no waops tables" if current is None else f"is at revision {current}, not {head}"
        )
        raise SchemaNotReady(f"the database {db.engine.url!r} {state}: run `waops db upgrade`")
