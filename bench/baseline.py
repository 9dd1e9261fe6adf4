"""What every bench shares: a fresh migrated database, the raw insert-rate baseline, and posting
through the simulator with a few concurrent callers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

T = TypeVar("T")


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


async def post_concurrently(
    items: Iterable[T], callers: int, post: Callable[[T], Awaitable[object]]
) -> float:
    """`post` every item, `callers` at a time, each caller taking the next item when it is
    free (as several clients of the control API would); the seconds it took."""
    queue = iter(items)

    async def caller() -> None:
        for item in queue:
            await post(item)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(callers):
            group.create_task(caller(), name=f"bench:poster-{i}")
    return time.perf_counter() - start
