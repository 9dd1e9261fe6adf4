"""Campaigns on a virtual clock: pacing, windows, caps, shared pace, at-most-once, auto-pause."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from engine.campaigns import CampaignEngine
from engine.errors import InvalidInput
from engine.events import (
    CampaignProgress,
    ReceiptUpdated,
    SessionRef,
    SessionStateChanged,
)
from engine.inbound.receipts import ReceiptTracker
from engine.settings import SecondsRange
from engine.whatsapp.errors import SendFailed, SessionLost
from storage.db import Database
from storage.records import CampaignStatus, RecipientState, SessionState
from storage.repos import CampaignRepo, ContactRepo
from tests.engine.campaign.env import START, UNPACED, Env, make_env, phones
from tests.support.clocks import ManualClock
from tests.support.poll import poll_until


@pytest.fixture
async def env(campaign_env: Env) -> Env:
    return campaign_env


async def test_gaps_fall_inside_the_configured_range(env: Env) -> None:
    await env.contacts(*phones(12))
    campaign = await env.launched(gap_s="20-60", long_pause_every=0)
    assert len(env.numbers.sent) == 12
    gaps = env.numbers.gaps_s()
    assert all(20 <= gap <= 60 for gap in gaps), gaps
    assert len({round(g, 3) for g in gaps}) > 3, "gaps are random, not fixed"
    assert (await env.service.get(campaign)).status is CampaignStatus.COMPLETED
    last = env.progress[-1]
    assert last.counts["sent"] == 12 and last.remaining == 0


async def test_window_and_caps_hold_messages_in_the_recipients_zone(env: Env) -> None:
    env.clock.advance_to(START + timedelta(hours=12))  # 21:00 in Buenos Aires, 01:00 in Madrid
    await env.contacts("5491150000001", "34612345678")
    await env.launched(window="09:00-20:00", hourly_cap=1, gap_s="1")
    (first_at, first_to, _), (second_at, second_to, _) = env.numbers.sent
    assert first_to == "5491150000001@c.us"
    # Held to 09:00 the next morning in Buenos Aires (12:00 UTC)...
    assert first_at == START + timedelta(days=1)
    # ...and the Spanish number is inside Madrid's window then, but the hourly cap holds it.
    assert second_to == "34612345678@c.us"
    assert second_at == first_at + timedelta(hours=1)


async def test_daily_cap_and_warmup_for_a_young_number(env: Env) -> None:
    await env.contacts(*phones(5))
    await env.launched(gap_s="1", warmup=[2], daily_cap=100)
    times = [at for at, _to, _text in env.numbers.sent]
    assert len(times) == 5
    assert times[2] - times[0] >= timedelta(days=1), "day one of a new number allows 2 sends"


async def test_two_campaigns_on_one_number_share_its_pace(env: Env) -> None:
    await env.contacts(*phones(3), tag="a")
    await env.contacts(*phones(3, start=10), tag="b")
    first = await env.campaign(selection="a", gap_s="30", long_pause_every=0)
    second = await env.campaign(selection="b", gap_s="30", long_pause_every=0)
    await env.service.launch(first)
    await env.service.launch(second)
    await env.engine.run_until_idle()
    assert len(env.numbers.sent) == 6
    assert all(gap >= 30 for gap in env.numbers.gaps_s()), env.numbers.gaps_s()
    recipients = [to for _at, to, _t in env.numbers.sent]
    assert any(to.startswith("54911500000") and to[11:13] < "10" for to in recipients[:3])
    assert any(to[11:13] >= "10" for to in recipients[:3]), "the campaigns interleave"


async def test_skips_opt_outs_missing_numbers_and_renders_fields(env: Env) -> None:
    await env.contacts(*phones(3), ciudad="Rosario")
    opted = await ContactRepo(env.db).get(env.client_id, phones(1, start=2)[0])
    await ContactRepo(env.db).set_opted_out(opted.id, START)
    env.numbers.missing.add(phones(1, start=3)[0])
    campaign = await env.campaign(
        template="{Hola|Buenas} {name}, te esperamos en {ciudad|tu ciudad}"
    )
    await env.service.launch(campaign)
    await env.engine.run_until_idle()
    [(_at, to, text)] = env.numbers.sent
    assert to == "5491150000001@c.us"
    assert text in ("Hola N01, te esperamos en Rosario", "Buenas N01, te esperamos en Rosario")
    counts = await CampaignRepo(env.db).counts(campaign)
    assert counts["skipped:opted_out"] == 1 and counts["skipped:not_on_whatsapp"] == 1
    assert (
        await ContactRepo(env.db).get(env.client_id, phones(1)[0])
    ).wa_id == "5491150000001@c.us"


async def test_opt_out_mid_campaign_stops_sends_to_that_contact(env: Env) -> None:
    await env.contacts(*phones(3))
    campaign = await env.campaign(gap_s="10", long_pause_every=0)
    await env.service.launch(campaign)
    third = await ContactRepo(env.db).get(env.client_id, phones(1, start=3)[0])

    async def opt_out_after_first(event: CampaignProgress) -> None:
        if event.counts.get("sent") == 1:
            await ContactRepo(env.db).set_opted_out(third.id, env.clock.now())

    env.bus.subscribe(CampaignProgress, opt_out_after_first)
    await env.engine.run_until_idle()
    assert [to for _a, to, _t in env.numbers.sent] == ["5491150000001@c.us", "5491150000002@c.us"]
    assert (await CampaignRepo(env.db).counts(campaign))["skipped:opted_out"] == 1


async def test_uncertain_sends_become_unknown_and_are_never_repeated(env: Env) -> None:
    await env.contacts(*phones(3))
    env.numbers.failures.extend(
        [SessionLost("timeout mid-send", maybe_sent=True), SendFailed("rejected")]
    )
    campaign = await env.launched()
    repo = CampaignRepo(env.db)
    states = [(r.phone, r.state) async for r in repo.recipients(campaign)]
    assert states == [
        (phones(1)[0], RecipientState.UNKNOWN),
        (phones(1, start=2)[0], RecipientState.FAILED),
        (phones(1, start=3)[0], RecipientState.SENT),
    ]
    assert len(env.numbers.sent) == 1


async def test_not_sent_for_sure_is_requeued(env: Env) -> None:
    await env.contacts(*phones(1))
    env.numbers.failures.append(SessionLost("offline", maybe_sent=False))
    await env.launched()
    assert len(env.numbers.sent) == 1, "the message never left, so it goes on the next try"


async def test_auto_pause_resume_and_ban_follow_the_session(env: Env) -> None:
    await env.contacts(*phones(3))
    campaign = await env.campaign()
    ref = SessionRef(env.session_id, env.client_id, "haby", "main")

    async def state(old: SessionState, new: SessionState) -> None:
        env.numbers.states[env.session_id] = new
        await env.bus.publish(SessionStateChanged(ref, old, new, None, env.clock.now()))

    await state(SessionState.CONNECTED, SessionState.DISCONNECTED)
    await env.service.launch(campaign)
    await env.engine.run_until_idle()
    assert env.numbers.sent == []
    paused = await env.service.get(campaign)
    assert paused.status is CampaignStatus.RUNNING  # launched while down: waits, sends nothing

    await state(SessionState.DISCONNECTED, SessionState.CONNECTED)
    await env.engine.run_until_idle()
    assert len(env.numbers.sent) == 3

    await env.contacts(*phones(2, start=20), tag="later")
    second = await env.campaign(selection="later")
    await env.service.launch(second)
    await state(SessionState.CONNECTED, SessionState.RECONNECTING)
    assert (await env.service.get(second)).status is CampaignStatus.PAUSED
    await state(SessionState.RECONNECTING, SessionState.CONNECTED)
    assert (await env.service.get(second)).status is CampaignStatus.RUNNING
    await state(SessionState.CONNECTED, SessionState.BANNED)
    banned = await env.service.get(second)
    assert banned.status is CampaignStatus.PAUSED and banned.status_reason == "number banned"
    with pytest.raises(InvalidInput, match="banned"):
        await env.service.resume(second)


async def test_pause_resume_cancel_take_effect_before_the_next_send(env: Env) -> None:
    await env.contacts(*phones(4))
    campaign = await env.campaign(gap_s="10", long_pause_every=0)
    await env.service.launch(campaign)

    async def pause_after_two(event: CampaignProgress) -> None:
        if event.counts.get("sent") == 2 and event.campaign.status is CampaignStatus.RUNNING:
            await env.service.pause(campaign)

    env.bus.subscribe(CampaignProgress, pause_after_two)
    await env.engine.run_until_idle()
    assert len(env.numbers.sent) == 2
    env.bus.unsubscribe(CampaignProgress, pause_after_two)
    await env.service.cancel(campaign)
    await env.engine.run_until_idle()
    assert len(env.numbers.sent) == 2
    counts = await CampaignRepo(env.db).counts(campaign)
    assert counts["skipped:cancelled"] == 2
    with pytest.raises(InvalidInput):
        await env.service.resume(campaign)


async def test_receipts_replies_and_report(env: Env) -> None:
    await env.contacts(*phones(2))
    campaign = await env.launched()
    await ReceiptTracker(env.db, env.bus).start()
    ref = SessionRef(env.session_id, env.client_id, "haby", "main")
    recipients = [r async for r in CampaignRepo(env.db).recipients(campaign)]
    assert recipients[0].wa_message_id is not None
    await env.bus.publish(ReceiptUpdated(ref, (recipients[0].wa_message_id,), 3))
    await env.bus.publish(ReceiptUpdated(ref, (recipients[0].wa_message_id,), 2))
    await CampaignRepo(env.db).link_reply(
        recipients[0].contact_id, env.clock.now() + timedelta(minutes=1)
    )
    report = await env.service.report(campaign)
    assert report.counts["read"] == 1 and report.counts["sent"] == 1
    assert report.reply_rate == 0.5
    rows = list(csv.DictReader(io.StringIO(report.csv.decode())))
    assert [(row["phone"], row["state"], bool(row["replied_at"])) for row in rows] == [
        (phones(1)[0], "read", True),
        (phones(1, start=2)[0], "sent", False),
    ]


@pytest.fixture
async def scheduling_env(db: Database) -> AsyncIterator[Env]:
    """On a clock that moves only when the test moves it: a schedule's timer waits for it."""
    async with make_env(db, ManualClock(START)) as world:
        yield world


async def test_preview_plan_and_schedule(scheduling_env: Env, db: Database) -> None:
    env = scheduling_env
    await env.contacts(*phones(3), ciudad="Rosario")
    opted = await ContactRepo(env.db).get(env.client_id, phones(1)[0])
    await ContactRepo(env.db).set_opted_out(opted.id, START)
    campaign = await env.campaign(template="Hola {name} de {ciudad}")
    preview = await env.service.preview(campaign, 2)
    assert preview == [
        (phones(1)[0], "Hola N01 de Rosario"),
        (phones(1, start=2)[0], "Hola N02 de Rosario"),
    ]
    plan = await env.service.plan(campaign)
    assert (plan.recipients, plan.opted_out) == (3, 1)

    later = env.clock.now() + timedelta(hours=2)
    scheduled = await env.service.launch(campaign, at=later)
    assert scheduled.status is CampaignStatus.SCHEDULED and scheduled.scheduled_at == later
    await env.engine.run_until_idle()
    assert env.numbers.sent == []
    await env.engine.stop()
    # A restart re-arms the schedule from the database; its time has come, so it runs.
    restarted = CampaignEngine(
        db, env.bus, env.numbers, UNPACED, clock=env.clock, rng=random.Random(1)
    )
    env.clock.advance_to(later)
    await restarted.start()
    env.engine = restarted
    await _wait_status(env, campaign, CampaignStatus.COMPLETED)
    assert len(env.numbers.sent) == 2


async def _wait_status(env: Env, campaign_id: int, status: CampaignStatus) -> None:
    async def reached() -> bool:
        if (await env.service.get(campaign_id)).status is status:
            return True
        await env.engine.run_until_idle()
        return False

    await poll_until(reached, f"campaign {campaign_id} to be {status}", 10, every_s=0.05)


async def test_bad_input_is_explained(env: Env) -> None:
    with pytest.raises(InvalidInput, match="field:ciudad=Rosario"):
        await env.service.create_draft("haby", "main", "field:", "Hola")
    with pytest.raises(InvalidInput):
        await env.service.create_draft("haby", "main", "feria", "Hola {name")
    empty = await env.campaign(selection="nadie")
    with pytest.raises(InvalidInput, match="nobody matches"):
        await env.service.launch(empty)
    assert SecondsRange(1, 2).low_s == 1
