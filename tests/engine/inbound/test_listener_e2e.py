"""The listener end to end: simulator -> real Chromium -> engine -> real openai SDK -> simulator."""

from __future__ import annotations

import pytest

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.events import InboundReceived
from storage.records import Origin
from storage.repos import AISettingsRepo, CampaignRepo, ContactRepo, MessageRepo
from tests.support.fakes.openai_server import Reply
from tests.support.live_env import Live

pytestmark = pytest.mark.browser

ANA = "5491155550000"
BETO = "5491155550001"


async def test_ai_reply_reaches_the_phone_and_is_stored_once(live: Live) -> None:
    live.fake.script(Reply("¡Hola! Abrimos de 9 a 18."))
    await live.write(ANA, "hola, a qué hora abren?")
    assert await live.sent() == [(f"{ANA}@c.us", "¡Hola! Abrimos de 9 a 18.")]
    assert await live.stored(ANA) == [
        ("contact", "hola, a qué hora abren?"),
        ("ai", "¡Hola! Abrimos de 9 a 18."),
    ]
    contact = await ContactRepo(live.world.db).get(live.client_id, ANA)
    [reply] = [
        m
        for m in await MessageRepo(live.world.db).conversation(contact.id)
        if m.origin is Origin.AI
    ]
    assert reply.wa_message_id == (await live.world.sim.sent("haby-main"))[0]["id"]


async def test_ai_off_phone_pause_and_opt_out(live: Live) -> None:
    await AISettingsRepo(live.world.db).update(live.client_id, enabled=False)
    await live.write(ANA, "hola?")
    assert await live.sent() == []
    assert await live.stored(ANA) == [("contact", "hola?")]

    await AISettingsRepo(live.world.db).update(live.client_id, enabled=True)
    await live.world.sim.phone_message("haby-main", ANA, "Hola Ana, soy Juan")
    await live.world.rec.wait(
        lambda: len(live.world.rec.of(InboundReceived)) == 2, "the phone's own message"
    )
    await live.listener.run_until_idle()
    await live.write(ANA, "gracias Juan")
    assert await live.sent() == [], "the bot stays silent after a human wrote from the phone"
    assert await live.stored(ANA) == [
        ("contact", "hola?"),
        ("phone", "Hola Ana, soy Juan"),
        ("contact", "gracias Juan"),
    ]

    await live.write(BETO, "BAJA")
    [(to, body)] = await live.sent()
    assert to == f"{BETO}@c.us" and "no vas a recibir" in body
    assert (await ContactRepo(live.world.db).get(live.client_id, BETO)).opted_out_at is not None
    await live.write(BETO, "hola")
    assert len(await live.sent()) == 1, "an opted-out contact gets no reply"
    assert live.fake.requests == []

    # A later campaign to everyone skips the opted-out contact.
    engine = CampaignEngine(live.world.db, live.world.bus, live.manager, PacingPolicy.unpaced())
    service = CampaignService(live.world.db, engine, PacingPolicy.unpaced())
    await engine.start()
    try:
        draft = await service.create_draft(
            "haby", "main", "all", "Novedades de noviembre, {name|hola}!"
        )
        campaign = draft.campaign
        await service.launch(campaign.id)
        await engine.run_until_idle()
    finally:
        await engine.stop()
    assert (await live.sent())[1:] == [(f"{ANA}@c.us", "Novedades de noviembre, hola!")]
    assert (await CampaignRepo(live.world.db).counts(campaign.id))["skipped:opted_out"] == 1
