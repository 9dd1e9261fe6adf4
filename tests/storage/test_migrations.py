"""Migrations reach head from an empty database and agree with the models."""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.migrate import (
    SchemaNotReady,
    current_revision,
    ensure_schema,
    head_revision,
    schema_drift,
    upgrade,
)
from tests.conftest import MYSQL_SKIP, MYSQL_URL, _migrate


async def test_empty_sqlite_upgrades_to_head_and_matches_models(sqlite_url: str) -> None:
    async with Database(sqlite_url) as db:
        with pytest.raises(SchemaNotReady, match="waops db upgrade"):
            await ensure_schema(db)
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        assert await schema_drift(db) == []
        await ensure_schema(db)
        await upgrade(db)  # a second upgrade is a no-op
        assert await current_revision(db) == head_revision()


@pytest.mark.mysql
async def test_empty_mariadb_upgrades_to_head_and_matches_models() -> None:
    if not MYSQL_URL:
        pytest.skip(MYSQL_SKIP)
    await _migrate(MYSQL_URL, drop_first=True)
    async with Database(MYSQL_URL) as db:
        assert await current_revision(db) == head_revision()
        assert await schema_drift(db) == []
