"""Alerts about the engine itself: a number's campaign sender that keeps failing, an inbound
spool that cannot be written (messages then live only in memory), and a worker of a split
deployment lost with its numbers."""

from __future__ import annotations

from engine.events import CampaignRecovered, InboundSpoolFailed, NumberWorkerFailed, WorkerLost
from storage.repos import CampaignRepo
from tests.bot.push.conftest import ADMIN_HABY, OWNER, AlertWorld


async def test_a_stalled_campaign_sender_is_one_alert_that_counts_its_failures(
    world: AlertWorld,
) -> None:
    for n in (1, 2, 3):
        await world.bus.publish(
            NumberWorkerFailed(world.ref.session_id, world.ref.client_id, "database away", n, 1.0)
        )
    await world.router.run_until_idle()
    [owner] = [t for t in world.texts(OWNER) if "campañas" in t]
    assert "haby/main" in owner and "database away" in owner
    assert [t for t in world.texts(ADMIN_HABY) if "campaign sending stopped" in t]


async def test_a_spool_that_cannot_be_written_reaches_the_global_owners_only(
    world: AlertWorld,
) -> None:
    await world.bus.publish(InboundSpoolFailed("/var/lib/waops/inbound.spool", "No space left"))
    await world.router.run_until_idle()
    assert any("No space left" in t and "disco" in t for t in world.texts(OWNER))
    assert not any("No space left" in t for t in world.texts(ADMIN_HABY)), "haby's admin only"


async def test_each_recovery_of_interrupted_sends_is_told_with_its_own_count(
    world: AlertWorld,
) -> None:
    campaign = await CampaignRepo(world.db).create(
        world.haby_id, world.main.id, "feria", "Hola", {"all": True}
    )
    await world.bus.publish(CampaignRecovered(campaign, 1))
    await world.wait(60)  # a restart a minute later cuts off two more sends
    await world.bus.publish(CampaignRecovered(campaign, 2))
    await world.router.run_until_idle()
    told = [t for t in world.texts(ADMIN_HABY) if "interrupted by a restart" in t]
    assert len(told) == 2 and "): 1" in told[0] and "): 2" in told[1]


async def test_a_lost_worker_is_told_to_the_owner_once(world: AlertWorld) -> None:
    """Its numbers are taken over in two rounds (and by two workers): one notice."""
    await world.bus.publish(WorkerLost("worker-a", "worker-b", ("haby/main",)))
    await world.bus.publish(WorkerLost("worker-a", "worker-c", ("haby/ventas",)))
    await world.router.run_until_idle()
    told = [t for t in world.texts(OWNER) if "worker-a" in t]
    assert len(told) == 1, told
    assert "worker-a → worker-b: haby/main" in told[0] and "otro los tomó" in told[0]
