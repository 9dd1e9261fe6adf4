"""The listener end to end: simulator -> real Chromium -> engine -> real openai SDK -> simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.campaign_service import CampaignService
from engine.campaigns import CampaignEngine
from engine.events import InboundReceived
from engine.ia.openai_client import OpenAIClient
from engine.inbox import InboundSpool
from engine.listener import Listener, ListenerPolicy
from engine.pacing import PacingPolicy
from engine.sessions import SessionManager
from storage.records import Origin
from storage.repos import AISettingsRepo, CampaignRepo, ContactRepo, MessageRepo
from tests.engine.sim_world import World
from tests.fakes.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.browser

ANA = "5491155550000"
BETO = "5491155550001"


@dataclass
class Live:
    world: World
    manager: SessionManager
    listener: Listener
    fake: FakeOpenAI
    client_id: int

    async def write(self, sender: str, body: str) -> None:
        """A contact writes; wait until the engine has handled it."""
        before = len(self.world.rec.of(InboundReceived))
        await self.world.sim.inbound("haby-main", sender, body)
        await self.world.rec.wait(
            lambda: len(self.world.rec.of(InboundReceived)) > before, f"{body!r} to arrive"
        )
        await self.listener.run_until_idle()

    async def sent(self) -> list[tuple[str, str]]:
        return [(s["to"], s["body"]) for s in await self.world.sim.sent("haby-main")]

    async def stored(self, phone: str) -> list[tuple[str, str]]:
        contact = await ContactRepo(self.world.db).get(self.client_id, phone)
        return [
            (m.origin.value, m.body)
            for m in reversed(await MessageRepo(self.world.db).conversation(contact.id))
        ]


@pytest.fixture
async def live(world: World, tmp_path: Path) -> AsyncIterator[Live]:
    manager = world.manager()
    session = await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", "5491100000001")
    await AISettingsRepo(world.db).update(
        session.client_id,
        enabled=True,
        system_prompt="Sos el asistente de Haby Hogar.",
        business_context="Abrimos de 9 a 18.",
        debounce_s=0.05,
        pause_s=600,
    )
    async with (
        FakeOpenAI(separate_classifications=True) as fake,
        OpenAIClient(api_key="k", base_url=fake.base_url, timeout_s=2.0, max_retries=0) as llm,
    ):
        listener = Listener(
            world.db,
            world.bus,
            manager,
            llm=llm,
            default_model="gpt-test",
            spool=InboundSpool(tmp_path / "spool"),
            policy=ListenerPolicy(typing_scale=0.0),
        )
        await listener.start()
        yield Live(world, manager, listener, fake, session.client_id)
        await listener.stop()
        fake.assert_no_unexpected()


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
        campaign = await service.create(
            "haby", "main", "all", "Novedades de noviembre, {name|hola}!"
        )
        await service.launch(campaign.id)
        await engine.run_until_idle()
    finally:
        await engine.stop()
    assert (await live.sent())[1:] == [(f"{ANA}@c.us", "Novedades de noviembre, hola!")]
    assert (await CampaignRepo(live.world.db).counts(campaign.id))["skipped:opted_out"] == 1
