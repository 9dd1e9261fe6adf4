"""Migration 0006: an operator without scope rows becomes explicitly "all clients", a scoped
one stays scoped (and sees nothing once its clients are deleted); the downgrade never turns a
scoped operator global, and maps the new delivery states to the old `failed`. SQLite and
MariaDB."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.repos import OperatorRepo
from tests.storage.old_revision import BACKENDS, NOW, database_at, rows


@pytest.fixture(params=BACKENDS)
async def old_db(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Database]:
    """A database at revision 0005: an owner with no scope rows, an admin scoped to haby."""
    async with database_at(request.param, sqlite_url, "0005") as db:
        async with db.engine.begin() as c:
            n = {"n": NOW}
            for oid, platform_id, role in ((1, "tg:1", "owner"), (2, "slack:UA", "admin")):
                await c.execute(
                    text(
                        "insert into operators (id, platform_id, role, created_at)"
                        " values (:id, :p, :r, :n)"
                    ),
                    {"id": oid, "p": platform_id, "r": role, **n},
                )
            await c.execute(text("insert into operator_clients values (2, 1)"))
            await c.execute(
                text(
                    "insert into alert_subscriptions (operator_id, chat_ref, client_id, kind,"
                    " created_at) values (2, 'slack:UA', NULL, '*', :n)"
                ),
                n,
            )
        yield db


async def test_scopes_become_explicit_and_the_downgrade_fails_closed(old_db: Database) -> None:
    await upgrade(old_db)
    assert await current_revision(old_db) == head_revision()
    assert await rows(old_db, "select id, all_clients from operators order by id") == [
        (1, True),
        (2, False),
    ]
    async with old_db.engine.begin() as c:
        await c.execute(text("delete from clients where id = 1"))  # the admin's scope cascades
        await c.execute(
            text(
                "insert into alert_deliveries (chat_ref, text, status, attempts, next_attempt_at,"
                " created_at) values ('tg:1', 'x', 'dead', 3, :n, :n),"
                " ('tg:1', 'y', 'cancelled', 0, :n, :n)"
            ),
            {"n": NOW},
        )
    admin = await OperatorRepo(old_db).find("slack:UA")
    assert admin is not None and not admin.all_clients and not admin.may_see("haby")

    # Before 0006 an operator without scope rows saw every client: the downgrade removes the
    # admin (who sees nothing) rather than make them global.
    await downgrade(old_db, "0005")
    assert await rows(old_db, "select id, platform_id from operators order by id") == [(1, "tg:1")]
    assert await rows(old_db, "select count(*) from alert_subscriptions") == [(0,)]
    assert await rows(old_db, "select status from alert_deliveries order by id") == [
        ("failed",),
        ("failed",),
    ]
    await upgrade(old_db)
    assert await rows(old_db, "select id, all_clients from operators") == [(1, True)]
