"""The "campaign finished" alert from a real run: the worker's own COMPLETED goes through the
engine's one status change, so `CampaignStatusChanged` is published and the admins hear of it."""

from __future__ import annotations

import random

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.clock import VirtualClock
from engine.events import CampaignStatusChanged
from storage.records import CampaignStatus, ContactInput
from storage.repos import ContactRepo
from tests.bot.push.conftest import ADMIN_HABY, START, AlertWorld
from tests.support.fakes.numbers import FakeNumbers


async def test_a_campaign_that_sends_to_its_last_prospect_tells_the_admins(
    world: AlertWorld,
) -> None:
    clock = VirtualClock(START)
    numbers = FakeNumbers(clock)
    unpaced = PacingPolicy.unpaced()
    engine = CampaignEngine(
        world.db, world.bus, numbers, unpaced, clock=clock, rng=random.Random(7)
    )
    service = CampaignService(world.db, engine, unpaced, random.Random(7))
    changes: list[CampaignStatusChanged] = []

    async def record(event: CampaignStatusChanged) -> None:
        changes.append(event)

    world.bus.subscribe(CampaignStatusChanged, record)
    phones = ["5491150000001", "5491150000002", "5491150000003"]
    await ContactRepo(world.db).upsert_many(
        world.haby_id, [ContactInput(p, "Ana", ("feria",), {}) for p in phones]
    )
    await engine.start()
    try:
        created = (await service.create_draft("haby", "main", "feria", "Hola {name}")).campaign
        await service.launch(created.id)
        await engine.run_until_idle()
    finally:
        await engine.stop()

    assert len(numbers.sent) == 3
    assert [(c.old, c.campaign.status) for c in changes] == [
        (CampaignStatus.DRAFT, CampaignStatus.RUNNING),
        (CampaignStatus.RUNNING, CampaignStatus.COMPLETED),
    ]
    await world.router.run_until_idle()
    promo = f"«{created.name}» (#{created.id})"
    assert world.texts(ADMIN_HABY)[-1] == f"⚠️ haby/main: campaign {promo} (sent 3) finished."
