"""The active bot's leader lease (issue 17, storage/repos/leader.py): one holder at a time, a
standby takes it once it expired or was released, the epoch grows with every change of holder,
and the event cursor is saved only by the holder at its epoch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.repos.leader import LeaderRepo

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=15)


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """The standby's own connection to the same database."""
    database = Database(db.url)
    yield database
    await database.shutdown()


async def test_one_holder_until_its_lease_expires(db: Database, other: Database) -> None:
    active, standby = LeaderRepo(db), LeaderRepo(other)
    first = await active.acquire("bot-a", ttl=TTL, now=T0)
    assert first is not None and first.epoch == 1 and first.cursor is None
    assert await standby.acquire("bot-b", ttl=TTL, now=T0 + timedelta(seconds=5)) is None
    renewed = await active.acquire("bot-a", ttl=TTL, now=T0 + timedelta(seconds=5))
    assert renewed is not None and renewed.epoch == 1, "a renewal keeps the epoch"
    assert renewed.expires_at == T0 + timedelta(seconds=5) + TTL
    assert await active.save_cursor(renewed, 41, T0 + timedelta(seconds=6))

    # bot-a stops renewing: once its lease expired the standby takes it, with the cursor.
    late = T0 + timedelta(seconds=5) + TTL
    taken = await standby.acquire("bot-b", ttl=TTL, now=late)
    assert taken is not None and taken.epoch == 2 and taken.cursor == 41
    assert not await active.save_cursor(renewed, 99, late), "the old holder is fenced out"
    back = await active.acquire("bot-a", ttl=TTL, now=late + timedelta(seconds=1))
    assert back is None, "bot-a, waking up, does not get it back"
    current = await standby.current(late + timedelta(seconds=1))
    assert current is not None and current.holder == "bot-b" and current.cursor == 41


async def test_a_released_lease_is_taken_at_once(db: Database, other: Database) -> None:
    active, standby = LeaderRepo(db), LeaderRepo(other)
    lease = await active.acquire("bot-a", ttl=TTL, now=T0)
    assert lease is not None
    await active.release(lease)
    assert await active.current(T0) is None
    taken = await standby.acquire("bot-b", ttl=TTL, now=T0 + timedelta(seconds=1))
    assert taken is not None and taken.holder == "bot-b" and taken.epoch == 2


async def test_a_holder_whose_lease_lapsed_comes_back_with_a_new_epoch(db: Database) -> None:
    repo = LeaderRepo(db)
    lease = await repo.acquire("bot-a", ttl=TTL, now=T0)
    assert lease is not None
    again = await repo.acquire("bot-a", ttl=TTL, now=T0 + 2 * TTL)
    assert again is not None and again.epoch == 2, "nobody took it, but its tenure ended"
    assert not await repo.save_cursor(lease, 5, T0 + 2 * TTL), "the old tenure writes nothing"
