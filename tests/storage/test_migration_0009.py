"""Migration 0009: every session that exists gets its lease row, unowned at epoch 0, so workers
can claim it; the downgrade drops both tables. SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.repos.leases import LeaseRepo
from tests.storage.old_revision import BACKENDS, NOW, database_at, rows


@pytest.fixture(params=BACKENDS)
async def old_db(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Database]:
    """A database at revision 0008 with two sessions of haby."""
    async with database_at(request.param, sqlite_url, "0008") as db:
        async with db.engine.begin() as c:
            for sid, name in ((1, "ventas"), (2, "soporte")):
                await c.execute(
                    text(
                        "insert into wa_sessions (id, client_id, name, state, enabled,"
                        " state_changed_at, created_at)"
                        " values (:id, 1, :name, 'stopped', true, :n, :n)"
                    ),
                    {"id": sid, "name": name, "n": NOW},
                )
        yield db


async def test_existing_sessions_get_unowned_leases_and_the_downgrade_drops_them(
    old_db: Database,
) -> None:
    await upgrade(old_db)
    assert await current_revision(old_db) == head_revision()
    assert await rows(
        old_db, "select session_id, owner, epoch from session_leases order by session_id"
    ) == [(1, None, 0), (2, None, 0)]
    now = NOW.replace(tzinfo=UTC)
    taken = await LeaseRepo(old_db).claim("w1", capacity=5, ttl=timedelta(seconds=30), now=now)
    assert [(lease.session_id, lease.epoch) for lease in taken] == [(1, 1), (2, 1)]

    await downgrade(old_db, "0008")
    assert await current_revision(old_db) == "0008"
    async with old_db.engine.connect() as c:
        for table in ("session_leases", "workers"):
            with pytest.raises(Exception, match=table):
                await c.execute(text(f"select * from {table}"))
