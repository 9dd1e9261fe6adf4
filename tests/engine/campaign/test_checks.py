"""Number checks and send results as WhatsApp gives them: an unanswered check holds the
recipient (the worker lives on), the LID it returns is kept, and a send WhatsApp did not
confirm is never recorded as sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from engine.events import CampaignProgress, NumberWorkerFailed
from engine.whatsapp.errors import (
    NumberCheckUnavailable,
    SendFailed,
    SendUnknown,
    WhatsAppError,
)
from storage.db import Database
from storage.records import CampaignStatus, RecipientState, SkipReason, WaIdentity
from storage.repos import CampaignRepo, ContactRepo
from tests.engine.campaign.env import START, Env, phones
from tests.support.db_outage import Outage

LID = "111122223333444@lid"


async def _states(env: Env, campaign: int) -> list[tuple[RecipientState, str | None]]:
    return [(r.state, r.reason) async for r in CampaignRepo(env.db).recipients(campaign)]


async def test_a_check_during_an_outage_holds_the_recipient_and_the_worker_lives_on(
    campaign_env: Env,
) -> None:
    env = campaign_env
    await env.contacts(*phones(2))
    env.numbers.check_failures.extend(
        [
            NumberCheckUnavailable("queryWidExists gave null while OFFLINE"),
            WhatsAppError("queryWidExists: something odd in the page"),
        ]
    )
    campaign = await env.launched()
    assert await _states(env, campaign) == [(RecipientState.SENT, None)] * 2
    assert env.numbers.checks == [phones(1)[0]] * 3 + [phones(1, start=2)[0]]
    first_send = env.numbers.sent[0][0]
    assert first_send >= START + timedelta(seconds=60), "held twice before asking again"


async def test_the_lid_of_the_number_check_is_kept_and_an_earlier_stop_from_it_counts(
    campaign_env: Env,
) -> None:
    env = campaign_env
    first, second = phones(2)
    await env.contacts(first, second)
    env.numbers.lids = {first: LID, second: "555566667777888@lid"}
    contacts = ContactRepo(env.db)
    # Someone wrote BAJA from a LID WhatsApp had not tied to a phone yet: it was `first`.
    early = await contacts.resolve(env.client_id, WaIdentity(lid=LID))
    await contacts.set_opted_out(early.id, START)

    campaign = await env.launched()
    assert await _states(env, campaign) == [
        (RecipientState.SKIPPED, SkipReason.OPTED_OUT.value),
        (RecipientState.SENT, None),
    ]
    assert [to for _at, to, _t in env.numbers.sent] == [f"{second}@c.us"]
    assert (await contacts.get(env.client_id, second)).lid == "555566667777888@lid"
    assert await contacts.count(env.client_id) == 2, "the LID-only contact was merged"


async def test_a_send_whatsapp_did_not_confirm_is_unknown_or_failed_never_sent(
    campaign_env: Env,
) -> None:
    env = campaign_env
    await env.contacts(*phones(3))
    env.numbers.failures.extend(
        [
            SendUnknown("sendMsgResult ERROR_NETWORK"),
            SendFailed("sendMsgResult ERROR_EXPIRED"),
        ]
    )
    campaign = await env.launched()
    assert [s for s, _r in await _states(env, campaign)] == [
        RecipientState.UNKNOWN,
        RecipientState.FAILED,
        RecipientState.SENT,
    ]
    report = await env.service.report(campaign)
    assert report.counts.get("sent") == 1 and report.counts.get("unknown") == 1


async def test_a_database_outage_mid_campaign_restarts_the_numbers_sender(
    campaign_env: Env, db: Database
) -> None:
    if db.dialect != "sqlite":
        pytest.skip("the outage is played by moving the SQLite file away")
    env = campaign_env
    await env.contacts(*phones(3))
    outage = Outage(db)
    failed = asyncio.Event()

    async def on_failure(_event: NumberWorkerFailed) -> None:
        failed.set()

    async def outage_after_first_send(event: CampaignProgress) -> None:
        if event.counts.get("sent") == 1 and not outage.begun:
            await outage.begin()

    env.bus.subscribe(NumberWorkerFailed, on_failure)
    env.bus.subscribe(CampaignProgress, outage_after_first_send)
    campaign = await env.campaign()
    await env.service.launch(campaign)
    async with asyncio.timeout(10):
        await failed.wait()
    await outage.end()
    async with asyncio.timeout(20):
        await env.engine.run_until_idle()
    assert len(env.numbers.sent) == 3, "the campaign went on once the database was back"
    assert [s for s, _r in await _states(env, campaign)] == [RecipientState.SENT] * 3
    assert (await env.service.get(campaign)).status is CampaignStatus.COMPLETED
