"""Alerts raised while the database is away are kept and told once it answers again: a campaign
sender stalled by the outage itself, a session that dropped (and came back) meanwhile. The
outage is played by moving the SQLite file away, as the engine's own outage tests do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.push.alert_backlog import AlertBacklog, HeldResolve
from engine.events import NumberWorkerFailed
from storage.db import StorageUnavailable
from storage.repos.alerts import AlertRepo, NewAlert
from tests.bot.push.conftest import ADMIN_HABY, OWNER, AlertWorld
from tests.support.db_outage import Outage

STALLED = "campaign sending stopped"
RETRY_S = 5.0  # AlertPolicy.backlog_retry_s


@pytest.fixture
async def outage(world: AlertWorld) -> AsyncIterator[Outage]:
    if world.db.dialect != "sqlite":
        pytest.skip("the outage is played by moving the SQLite file away")
    away = Outage(world.db)
    yield away
    if away.away:
        await away.end()


async def _meanwhile(world: AlertWorld, seconds: float) -> None:
    """Let `seconds` pass with the database away: timers fire, the outbox cannot be read."""
    world.clock.advance(seconds)
    await world.rules.run_until_idle()


async def _stalled(world: AlertWorld, n: int) -> None:
    await world.bus.publish(
        NumberWorkerFailed(world.ref.session_id, world.ref.client_id, "database away", n, 1.0)
    )


async def test_a_stall_raised_while_the_database_is_away_is_told_once_it_is_back(
    world: AlertWorld, outage: Outage
) -> None:
    await outage.begin()
    await _stalled(world, 1)
    await _stalled(world, 2)  # the sender keeps failing while the database is away
    with pytest.raises(StorageUnavailable):
        await AlertRepo(world.db).is_firing("campaigns:1")
    await _meanwhile(world, RETRY_S)  # still away: kept for the next try
    assert world.alerts.held == 1, "two failures of one number: one alert"
    await outage.end()

    await world.wait(RETRY_S)
    [owner] = [t for t in world.texts(OWNER) if "campañas" in t]
    assert "database away" in owner
    assert len([t for t in world.texts(ADMIN_HABY) if STALLED in t]) == 1
    await _stalled(world, 3)  # the same stall again, the database back: counted, not told
    await world.wait(RETRY_S)
    assert len([t for t in world.texts(ADMIN_HABY) if STALLED in t]) == 1
    [alert] = await world.alerts.repo.firing()
    assert alert.kind == "campaigns_stalled" and alert.occurrences == 3
    assert world.alerts.held == 0


async def test_a_session_that_drops_while_the_database_is_away_is_still_reported(
    world: AlertWorld, outage: Outage
) -> None:
    await outage.begin()
    await world.drop()
    await _meanwhile(world, 60)  # the grace period passes with the database still away
    await outage.end()
    await world.wait(RETRY_S)
    assert [t for t in world.texts(ADMIN_HABY) if "disconnected" in t]
    await world.restore()
    await world.wait(60)
    assert [t for t in world.texts(ADMIN_HABY) if "connected again" in t]


async def test_an_alert_raised_and_resolved_during_the_outage_is_told_in_order_once(
    world: AlertWorld, outage: Outage
) -> None:
    await outage.begin()
    await world.drop()
    await _meanwhile(world, 60)
    await world.restore()
    await _meanwhile(world, 60)  # settled: the resolve waits behind the alert
    assert world.alerts.held == 2
    await outage.end()
    await world.wait(RETRY_S)
    texts = world.texts(ADMIN_HABY)
    assert len(texts) == 2 and "disconnected" in texts[0] and "connected again" in texts[1]
    assert await world.alerts.repo.firing() == []


def test_the_backlog_merges_repeats_and_stays_bounded() -> None:
    at = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    backlog = AlertBacklog(limit=3)
    stall = NewAlert(1, 1, "campaigns_stalled", "campaigns:1", "away")
    for n in range(5):
        backlog.fire(stall, True, at + timedelta(seconds=n))
    assert len(backlog) == 1 and backlog.firing("campaigns:1")
    backlog.resolve("campaigns:1", False, None, at)
    backlog.resolve("campaigns:1", False, None, at)
    assert len(backlog) == 2 and backlog.firing("campaigns:1") is False
    for key in ("a", "b"):
        backlog.fire(NewAlert(1, 1, "session_down", key, ""), False, at)
    assert len(backlog) == 3 and backlog.dropped == 1
    assert isinstance(backlog.first(), HeldResolve), "the oldest went first"
    assert backlog.firing("missing") is None
