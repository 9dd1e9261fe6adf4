"""The cache of clients and AI settings is never stale: a write in any process (here a second
`Database` on the same database, as the CLI or another worker would be) is seen by the next
read, and nothing is reloaded while nothing changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.repos import AISettingsRepo, ClientRepo, InboundRepo


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """Another process's connection to the same database."""
    database = Database(db.url)
    yield database
    await database.shutdown()


async def test_a_write_elsewhere_is_seen_by_the_next_read(db: Database, other: Database) -> None:
    haby = await ClientRepo(db).add("haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires")
    await AISettingsRepo(db).update(haby.id, enabled=True)
    repo = InboundRepo(db)
    first = await repo.config()
    assert first.settings_of(haby.id).enabled and [c.slug for c in first.others(haby.id)] == []
    reloads = db.config.reloads
    assert (await repo.config()) is first and db.config.reloads == reloads, "nothing changed"

    await AISettingsRepo(other).update(haby.id, enabled=False)
    assert not (await repo.config()).settings_of(haby.id).enabled, "/ai haby off, elsewhere"
    await ClientRepo(other).add("sur", "Marketing Sur", "AR", "America/Argentina/Cordoba")
    names = [c.name for c in (await repo.config()).others(haby.id)]
    assert names == ["Marketing Sur"], "a client added by the CLI is guarded at once"
    assert db.config.reloads == reloads + 2


async def test_a_client_without_settings_has_ai_off(db: Database) -> None:
    bare = await ClientRepo(db).add("bare", "Bare", "AR", "America/Argentina/Buenos_Aires")
    settings = (await InboundRepo(db).config()).settings_of(bare.id)
    assert not settings.enabled and settings == await AISettingsRepo(db).get(bare.id)


async def test_without_its_row_the_cache_reloads_every_time_and_a_write_makes_it_again(
    db: Database,
) -> None:
    haby = await ClientRepo(db).add("haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires")
    async with db.session() as session:
        await session.execute(text("DELETE FROM config_version"))
    repo = InboundRepo(db)
    await repo.config()
    reloads = db.config.reloads
    await repo.config()
    assert db.config.reloads == reloads + 1, "no version to trust: read again"
    await AISettingsRepo(db).update(haby.id, enabled=True)
    assert (await repo.config()).settings_of(haby.id).enabled
    reloads = db.config.reloads
    await repo.config()
    assert db.config.reloads == reloads, "the row is back and the cache holds again"
