"""The active bot and its hot standby (issue 17, bot/leader.py): the standby waits while the
active bot renews, takes over at once when it stops cleanly and within the lease when it dies,
and a bot that finds another holding its lease says it lost it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.leader import LeaderPolicy, Leadership
from storage.db import Database
from storage.repos.leader import LeaderRepo
from tests.support.poll import poll_until


def _policy(holder: str) -> LeaderPolicy:
    return LeaderPolicy(holder, ttl_s=1.5, renew_every_s=0.3, stop_after_s=0.9)


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    database = Database(db.url)
    yield database
    await database.shutdown()


async def test_the_standby_waits_then_takes_over_a_clean_stop_at_once(
    db: Database, other: Database
) -> None:
    active, standby = Leadership(db, _policy("bot-a")), Leadership(other, _policy("bot-b"))
    await active.start()
    waiting = asyncio.create_task(standby.start())
    await asyncio.sleep(2.0)  # past a whole lease: the active bot renews it
    assert not waiting.done(), "the standby waits while the active bot renews"
    await active.stop()
    await asyncio.wait_for(waiting, timeout=1.0)
    assert standby.lease is not None and standby.lease.holder == "bot-b"
    assert standby.lease.epoch == 2
    await standby.stop()


async def test_the_standby_takes_over_a_dead_bot_within_its_lease(
    db: Database, other: Database
) -> None:
    dead = await LeaderRepo(db).acquire("bot-a", ttl=_ttl(), now=_now())
    assert dead is not None  # bot-a took the lease and then died: nobody renews it
    await LeaderRepo(db).save_cursor(dead, 17, _now())
    standby = Leadership(other, _policy("bot-b"))
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await asyncio.wait_for(standby.start(), timeout=3.0)
    assert loop.time() - begun <= 1.5 + 0.3 + 0.5, "within the lease and one look"
    assert standby.lease is not None and standby.lease.cursor == 17, "it goes on from there"
    await standby.stop()


async def test_a_bot_whose_lease_another_took_says_so(db: Database, other: Database) -> None:
    lost: list[bool] = []
    active = Leadership(db, _policy("bot-a"), on_lost=lambda: lost.append(True))
    await active.start()
    assert active.lease is not None
    # The lease row moves to another bot behind its back (it stalled past it, say).
    await LeaderRepo(other).release(active.lease)
    assert await LeaderRepo(other).acquire("bot-b", ttl=_ttl(), now=_now()) is not None
    await poll_until(lambda: lost == [True], "bot-a to see it lost the lease", 3)
    assert active.lost.is_set()
    await active.save_cursor(5)  # ignored: it is not the active bot
    current = await LeaderRepo(other).current(_now())
    assert current is not None and current.holder == "bot-b" and current.cursor is None
    await active.stop()


def _ttl() -> timedelta:
    return timedelta(seconds=1.5)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_renewal_that_fails_on_a_bug_still_ends_in_lost_before_the_lease_lapses(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    since_renewal: list[float] = []  # when it gave up, seconds after its last renewal
    active = Leadership(db, _policy("bot-a"))
    active.on_lost = lambda: since_renewal.append(time.monotonic() - active._renewed_at)
    await active.start()

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in the renewal")

    monkeypatch.setattr(active._repo, "acquire", broken)
    await poll_until(lambda: len(since_renewal) == 1, "bot-a to give the lease up", 3)
    assert since_renewal[0] < _ttl().total_seconds(), "before its lease can lapse"
    await active.stop()
