"""WhatsApp as it really is, end to end: simulator (following WA-JS 4.6.0) -> real Chromium ->
driver -> listener and campaigns -> simulator. Contacts with a LID, send results, message kinds,
notifications and number checks during an outage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.events import InboundReceived
from engine.inbound.conversations import Conversations
from storage.records import ContactInput, Direction, RecipientState, SessionState, SkipReason
from storage.repos import CampaignRepo, ContactRepo, MessageRepo
from tests.support.fakes.openai_server import Reply
from tests.support.live_env import Live

pytestmark = pytest.mark.browser

ANA = "5491155550000"
BETO = "5491155550001"
CARLA = "5491155550002"
ANA_LID = "204060801012141"


@dataclass
class Campaigns:
    engine: CampaignEngine
    service: CampaignService

    async def run(self, template: str) -> int:
        """A campaign to every contact, launched and sent as far as it can go now."""
        campaign = (await self.service.create_draft("haby", "main", "all", template)).campaign
        await self.service.launch(campaign.id)
        await self.engine.run_until_idle()
        return campaign.id


@pytest.fixture
async def campaigns(live: Live) -> AsyncIterator[Campaigns]:
    engine = CampaignEngine(live.world.db, live.world.bus, live.manager, PacingPolicy.unpaced())
    await engine.start()
    yield Campaigns(engine, CampaignService(live.world.db, engine, PacingPolicy.unpaced()))
    await engine.stop()


async def test_a_prospect_who_answers_from_a_lid_is_one_contact_end_to_end(
    live: Live, campaigns: Campaigns
) -> None:
    db = live.world.db
    await ContactRepo(db).upsert_many(live.client_id, [ContactInput(ANA, "Ana")])
    await live.world.sim.request("POST", "/control/lids", {ANA: ANA_LID})
    live.fake.script(Reply("¡Genial Ana! Te paso precios."))

    first = await campaigns.run("Hola {name}, tenemos ofertas")
    [sent] = await live.world.sim.sent("haby-main")
    assert sent["body"] == "Hola Ana, tenemos ofertas"
    assert sent["chat"] == f"{ANA_LID}@lid", "WA-JS resolved the phone to the LID chat"
    contact = await ContactRepo(db).get(live.client_id, ANA)
    assert contact.lid == f"{ANA_LID}@lid"

    # Ana answers from the LID chat; WhatsApp does not repeat her phone.
    await live.write(ANA, "me interesa!", lid=True, lid_unknown=True)
    recipients = [r async for r in CampaignRepo(db).recipients(first)]
    assert recipients[0].replied_at is not None, "the reply counts for the campaign"
    await live.write(ANA, "BAJA", lid=True, lid_unknown=True)
    assert (await ContactRepo(db).get(live.client_id, ANA)).opted_out_at is not None
    assert await ContactRepo(db).count(live.client_id) == 1

    second = await campaigns.run("Segunda oferta, {name}")
    states = [(r.state, r.reason) async for r in CampaignRepo(db).recipients(second)]
    assert states == [(RecipientState.SKIPPED, SkipReason.OPTED_OUT.value)]
    assert not any(s["body"].startswith("Segunda") for s in await live.world.sim.sent("haby-main"))

    conversations = Conversations(db, live.manager, live.world.bus)
    _contact, messages = await conversations.read("haby", f"+{ANA}")
    assert [(m.direction, m.body) for m in messages if m.direction is Direction.IN] == [
        (Direction.IN, "me interesa!"),
        (Direction.IN, "BAJA"),
    ]
    await conversations.reply("haby", f"+{ANA}", "Perdón Ana, ya no te escribimos más.")
    last = (await live.world.sim.sent("haby-main"))[-1]
    assert (last["chat"], last["body"]) == (
        f"{ANA_LID}@lid",
        "Perdón Ana, ya no te escribimos más.",
    )


async def test_send_results_that_are_not_ok_are_never_reported_as_sent(
    live: Live, campaigns: Campaigns
) -> None:
    db = live.world.db
    await ContactRepo(db).upsert_many(
        live.client_id, [ContactInput(ANA), ContactInput(BETO), ContactInput(CARLA)]
    )
    await live.world.sim.send_results({ANA: "ERROR_NETWORK", BETO: "ERROR_EXPIRED"})
    campaign = await campaigns.run("Hola")
    by_phone = {r.phone: r.state async for r in CampaignRepo(db).recipients(campaign)}
    assert by_phone == {
        ANA: RecipientState.UNKNOWN,
        BETO: RecipientState.FAILED,
        CARLA: RecipientState.SENT,
    }
    report = await campaigns.service.report(campaign)
    assert report.counts.get("sent") == 1
    assert report.counts.get("unknown") == 1 and report.counts.get("failed") == 1


async def test_an_image_with_a_caption_and_a_notification(live: Live) -> None:
    live.fake.script(Reply("¡Sí, lo tenemos en gris!"))
    await live.write(ANA, None, type="image", caption="tienen este en gris?")
    contact = await ContactRepo(live.world.db).get(live.client_id, ANA)
    stored = list(reversed(await MessageRepo(live.world.db).conversation(contact.id)))
    assert [(m.direction, m.type, m.body) for m in stored] == [
        (Direction.IN, "image", "tienen este en gris?"),
        (Direction.OUT, "chat", "¡Sí, lo tenemos en gris!"),
    ]
    user_turn = live.fake.messages[-1][-1]["content"]
    assert "tienen este en gris?" in user_turn
    assert "/9j/" not in user_turn and "base64" not in user_turn, "no thumbnail for the model"

    before = len(live.world.rec.of(InboundReceived))
    await live.world.sim.inbound("haby-main", BETO, None, type="call_log")
    await live.world.sim.inbound("haby-main", BETO, None, type="e2e_notification")
    await live.write(BETO, "hola")  # a message after them, so both were seen by the page
    assert len(live.world.rec.of(InboundReceived)) == before + 1, "notifications never arrive"
    assert len(live.fake.requests) == 2, "only the image and the hola were answered"


async def test_a_number_check_during_an_outage_holds_the_recipient(
    live: Live, campaigns: Campaigns
) -> None:
    """The driver's NumberCheckUnavailable path is in tests/engine/whatsapp; here the whole
    system: while the number is offline nobody is judged "not on WhatsApp"."""
    db = live.world.db
    await ContactRepo(db).upsert_many(live.client_id, [ContactInput(CARLA)])
    await live.world.sim.action("haby-main", "drop")
    await live.world.rec.wait_state("haby-main", SessionState.DISCONNECTED)
    campaign = (await campaigns.service.create_draft("haby", "main", "all", "Hola")).campaign
    await campaigns.service.launch(campaign.id)
    await campaigns.engine.run_until_idle()
    states = [r.state async for r in CampaignRepo(db).recipients(campaign.id)]
    assert states == [RecipientState.QUEUED], "held, neither skipped nor sent"

    await live.world.sim.action("haby-main", "restore")
    await live.world.rec.wait_state("haby-main", SessionState.CONNECTED)
    await campaigns.engine.run_until_idle()
    states = [r.state async for r in CampaignRepo(db).recipients(campaign.id)]
    assert states == [RecipientState.SENT]
    assert [s["body"] for s in await live.world.sim.sent("haby-main")] == ["Hola"]
