"""What every bench shares: a fresh migrated database and the raw insert-rate baseline."""

from __future__ import annotations

import time

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base


async def fresh_database(db: Database) -> None:
    """Drop every waops table (and the baseline's) and migrate to head."""
    async with db.engine.begin() as connection:
        if db.dialect != "sqlite":
            await connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await connection.execute(text("DROP TABLE IF EXISTS bench_rows"))
        if db.dialect != "sqlite":
            await connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    await upgrade(db)


async def raw_insert_rate(db: Database, rows: int) -> float:
    """Single-row INSERT transactions per second on this database (the baseline)."""
    table = Table(
        "bench_rows", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(40))
    )
    async with db.engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
    start = time.perf_counter()
    for i in range(rows):
        async with db.engine.begin() as connection:
            await connection.execute(insert(table).values(v=f"row {i}"))
    elapsed = time.perf_counter() - start
    async with db.engine.begin() as connection:
        await connection.run_sync(table.metadata.drop_all)
    return rows / elapsed
