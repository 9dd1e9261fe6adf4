"""Digests: exactly the conversations and figures of a day with known traffic, within the
platform's limits, a valid PNG chart, summaries when a model is there, schedules per zone."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.push.digests import MISFIRE_GRACE_S, Digests, DigestSchedule, digest_text
from engine.clock import VirtualClock
from engine.digests import DigestBuilder, DigestData
from engine.ia.openai_client import OpenAIClient
from storage.db import Database
from storage.models import CampaignRecipientRow
from storage.records import Direction, NewMessage, Origin
from storage.repos import CampaignRepo, ContactRepo, MessageRepo
from storage.repos.digest_runs import DigestRunRepo
from tests.bot.push.conftest import ADMIN_HABY, OWNER, AlertWorld, make_world
from tests.support.clocks import ManualClock
from tests.support.fakes.openai_server import FakeOpenAI, Reply
from tests.support.poll import poll_until

# 2 November in Buenos Aires (UTC-3): from 03:00 UTC that day to 03:00 UTC the next.
DAY_START = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
ANA, BETO, CARLA, DIEGO, EVA, FEDE = (
    "5491111111111",
    "5492222222222",
    "5493333333333",
    "5494444444444",
    "5495555555555",
    "5496666666666",
)


def at(hour: int, minute: int = 0, *, day: int = 2) -> datetime:
    """A local time in Buenos Aires on `day` November, as UTC."""
    return datetime(2026, 11, day, hour + 3, minute, tzinfo=UTC)


async def _traffic(world: AlertWorld) -> None:
    contacts, messages = ContactRepo(world.db), MessageRepo(world.db)
    ids = {}
    for phone, name in (
        (ANA, "Ana"),
        (BETO, None),
        (CARLA, "Carla"),
        (DIEGO, None),
        (EVA, None),
        (FEDE, None),
    ):
        ids[phone] = (await contacts.ensure(world.haby_id, phone, name=name)).id

    async def say(
        phone: str,
        when: datetime,
        body: str,
        origin: Origin = Origin.CONTACT,
        intent: str | None = None,
    ) -> None:
        inbound = origin is Origin.CONTACT
        await messages.add(
            NewMessage(
                client_id=world.haby_id,
                contact_id=ids[phone],
                direction=Direction.IN if inbound else Direction.OUT,
                origin=origin,
                body=body,
                sent_at=when,
                session_id=world.main.id,
                intent=intent,
            )
        )

    await say(ANA, at(18, day=1), "hola, ¿tienen departamentos?")  # known contact
    await say(ANA, at(10), "hola de nuevo")
    await say(ANA, at(10, 1), "¡Hola Ana! ¿Qué zona buscás?", Origin.AI)
    await say(ANA, at(10, 5), "quiero comprar el de Palermo ya", intent="hot_lead")
    await say(BETO, at(11), "necesito hablar con un humano", intent="wants_human")
    await say(BETO, at(11, 30), "Hola Beto, soy Juan, ¿en qué te ayudo?", Origin.OPERATOR)
    await say(CARLA, at(12), "¿precio del alquiler?")
    await say(CARLA, at(12, 1), "Desde 500 mil pesos.", Origin.AI)
    await say(DIEGO, at(9), "Promo de noviembre", Origin.CAMPAIGN)  # no answer: no conversation
    await say(EVA, at(0, 30, day=3), "escribo mañana")  # after the period
    await say(FEDE, at(15), "BAJA", intent="opt_out")
    await say(FEDE, at(15, 1), "Listo, no te escribimos más.", Origin.RULE)
    await contacts.set_opted_out(ids[FEDE], at(15))

    campaign = await CampaignRepo(world.db).create(
        world.haby_id, world.main.id, "Promo", "Hola", {"all": True}
    )
    async with world.db.session() as session:
        session.add(
            CampaignRecipientRow(
                campaign_id=campaign.id, contact_id=ids[DIEGO], state="sent", sent_at=at(9)
            )
        )
        session.add(
            CampaignRecipientRow(
                campaign_id=campaign.id,
                contact_id=ids[CARLA],
                state="sent",
                sent_at=at(9, day=1),
                replied_at=at(12),
            )
        )
        session.add(
            CampaignRecipientRow(
                campaign_id=campaign.id,
                contact_id=ids[EVA],
                state="failed",
                updated_at=at(9, day=1),
            )
        )


@pytest.fixture
async def traffic(db: Database) -> AsyncIterator[AlertWorld]:
    world = await make_world(db)
    await _traffic(world)
    yield world
    await world.rules.stop()


async def test_a_day_with_known_traffic_gives_exactly_its_figures(traffic: AlertWorld) -> None:
    data = await DigestBuilder(traffic.db).build("haby", DAY_START, DAY_END)
    by_phone = {c.phone: c for c in data.conversations}
    assert list(by_phone) == [BETO, ANA, FEDE, CARLA], "hot/hand-off first, then newest"
    beto, ana, fede, carla = by_phone.values()
    assert (ana.new, ana.unanswered, ana.hot_lead, ana.handoff) == (False, True, True, False)
    assert (beto.new, beto.unanswered, beto.hot_lead, beto.handoff) == (True, False, False, True)
    assert (carla.new, carla.unanswered, fede.new, fede.unanswered) == (True, False, True, False)
    assert [m.body for m in ana.last] == [
        "hola de nuevo",
        "¡Hola Ana! ¿Qué zona buscás?",
        "quiero comprar el de Palermo ya",
    ]
    assert (ana.inbound, ana.outbound) == (2, 1)
    assert (data.ai_replies, data.opt_outs) == (2, 1)
    assert [(c.name, c.sent, c.failed, c.replied) for c in data.campaigns] == [("Promo", 1, 0, 1)]
    assert [(d.day.isoformat(), d.inbound, d.outbound) for d in data.days] == [("2026-11-02", 5, 5)]
    assert ana.summary is None, "no model: no summaries, the digest still works"

    text = digest_text(data, "en")
    assert "Conversations: 4 (new 3) · unanswered 1 · hot leads 1 · asked for a person 1" in text
    assert "AI replies sent: 2 · opt-outs: 1" in text
    promo = data.campaigns[0].campaign_id
    assert f"• «Promo» (#{promo}) (draft): 1 sent, 0 failed, 1 replies" in text
    assert "• +5491111111111 (Ana) ↓2 ↑1 [unanswered, hot lead]" in text
    assert "02/11 10:05 ← quiero comprar el de Palermo ya" in text
    assert EVA not in text and DIEGO not in text


async def test_a_digest_fits_the_platform_and_its_chart_is_a_png(traffic: AlertWorld) -> None:
    traffic.telegram.text_limit = 300  # a tight platform: the digest is split
    digests = Digests(traffic.db, traffic.router, DigestBuilder(traffic.db), traffic.clock)
    queued = await digests.send("haby", DAY_START, DAY_END)
    await traffic.router.run_until_idle()
    owner = [s.message for s in traffic.telegram.sent if s.chat == "1"]
    assert queued == len(owner) + len(traffic.slack.sent)
    chart, *parts = owner
    assert chart.image is not None and chart.image.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(chart.image))
    image.load()
    assert image.format == "PNG" and image.width >= 160 and image.height > 100
    assert image.getpixel((20, 140)) == (52, 120, 200), "a blue inbound bar"
    assert 1 < len(parts) <= 4 and all(len(p.text) <= 300 for p in parts)
    assert "Resumen haby" in parts[0].text, "the owner reads Spanish"
    slack_text = "\n".join(s.message.text for s in traffic.slack.sent)
    assert "Digest haby" in slack_text and ADMIN_HABY.startswith("slack:")

    traffic.telegram.text_limit = 60  # far too long for a few messages: one text file
    traffic.telegram.sent.clear()
    await digests.send("haby", DAY_START, DAY_END)
    await traffic.router.run_until_idle()
    chart, document = [s.message for s in traffic.telegram.sent if s.chat == OWNER[3:]]
    assert document.file_data is not None and b"+5491111111111 (Ana)" in document.file_data


async def test_with_a_model_each_conversation_gets_a_one_line_summary(traffic: AlertWorld) -> None:
    async with (
        FakeOpenAI() as fake,
        OpenAIClient(api_key="test", base_url=fake.base_url, timeout_s=2, max_retries=0) as llm,
    ):
        fake.script(*(Reply(f"Resumen {n}") for n in range(4)))
        data = await DigestBuilder(traffic.db, llm, model="gpt-test").build(
            "haby", DAY_START, DAY_END
        )
        fake.assert_no_unexpected()
    assert [c.summary for c in data.conversations] == [f"Resumen {n}" for n in range(4)]
    assert "  Resumen 0" in digest_text(data, "es")


async def test_digests_are_scheduled_in_the_clients_zone(traffic: AlertWorld) -> None:
    digests = Digests(
        traffic.db,
        traffic.router,
        DigestBuilder(traffic.db),
        VirtualClock(DAY_END),
        schedules={"marketing": DigestSchedule.business_hours()},
    )
    await digests.start()
    try:
        haby, marketing = digests.next_run("haby"), digests.next_run("marketing")
        assert haby is not None and marketing is not None
        assert haby.utcoffset() == timedelta(hours=-3)
        assert (haby.hour, haby.minute) == (9, 0)
        assert marketing.hour in range(9, 20, 2) and marketing.weekday() < 5
    finally:
        await digests.stop()


async def test_an_empty_period_still_makes_a_digest(traffic: AlertWorld) -> None:
    start = DAY_START - timedelta(days=30)
    data: DigestData = await DigestBuilder(traffic.db).build("marketing", start, DAY_START)
    assert data.conversations == () and len(data.days) == 30
    assert "No conversations in this period." in digest_text(data, "en")


class RecordingDigests(Digests):
    """The schedule as it is, with each digest's period recorded instead of built and sent."""

    def __init__(self, world: AlertWorld, clock: ManualClock) -> None:
        super().__init__(world.db, world.router, DigestBuilder(world.db), clock)
        self.periods: list[tuple[str, datetime, datetime]] = []

    async def send(self, client_slug: str, start: datetime, end: datetime) -> int:
        self.periods.append((client_slug, start, end))
        return 1


NINE_AM = at(9, day=3)  # haby's daily digest (09:00 in Buenos Aires)


async def test_a_digest_due_while_no_bot_ran_goes_out_when_one_starts(
    traffic: AlertWorld,
) -> None:
    clock = ManualClock(NINE_AM - timedelta(minutes=1))
    first = RecordingDigests(traffic, clock)
    await first.start()
    clock.advance_to(NINE_AM)
    await poll_until(lambda: len(first.periods) == 2, "09:00's digests", 5)
    await first.stop()  # the bot dies; the next 09:00 passes with none running

    clock.advance_to(NINE_AM + timedelta(days=1, minutes=20))
    second = RecordingDigests(traffic, clock)  # the standby, or the restarted bot
    await second.start()
    try:
        await poll_until(lambda: len(second.periods) == 2, "the missed digests", 5)
        haby = [p for p in second.periods if p[0] == "haby"]
        assert haby == [("haby", NINE_AM, clock.now())], "from where the last one ended"
        next_run = second.next_run("haby")
        assert next_run is not None and next_run == NINE_AM + timedelta(days=2)
    finally:
        await second.stop()


async def test_a_digest_missed_longer_ago_than_the_grace_waits_for_the_next_time(
    traffic: AlertWorld,
) -> None:
    clock = ManualClock(NINE_AM)
    await DigestRunRepo(traffic.db).record(traffic.haby_id, NINE_AM - timedelta(days=1))
    clock.advance(MISFIRE_GRACE_S + 60)  # 09:00 today passed over an hour ago
    digests = RecordingDigests(traffic, clock)
    await digests.start()
    try:
        await asyncio.sleep(0.05)
        assert [p for p in digests.periods if p[0] == "haby"] == []
        assert digests.next_run("haby") == NINE_AM + timedelta(days=1)
        clock.advance_to(NINE_AM + timedelta(days=1))
        await poll_until(lambda: any(p[0] == "haby" for p in digests.periods), "the next one", 5)
        # It covers everything since the last digest that went out: nothing is left out.
        assert [p[1] for p in digests.periods if p[0] == "haby"] == [NINE_AM - timedelta(days=1)]
    finally:
        await digests.stop()
