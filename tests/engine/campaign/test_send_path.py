"""A send is two commits: the claim (the campaign's status, the recipient as it is now, the
checks at send time, `sending`) before the driver call, `sent` with the stored message after it.
When the next send follows at once, its claim commits the `sent` before it; before any wait, a
stop or a restart the worker commits it on its own, so a send WhatsApp took is never `unknown`.

The worker plans each send for the recipient the previous claim read after its own; these tests
change that recipient between the two sends and show the claim does not trust what it planned
with: a rename, an opt-out (or its undoing), a pause made where no poke reaches this worker, a
forgotten contact.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from engine.events import CampaignProgress
from engine.whatsapp.types import SentMessage
from storage.db import StorageUnavailable
from storage.records import (
    CampaignStatus,
    ContactInput,
    Direction,
    Origin,
    RecipientState,
    SkipReason,
)
from storage.repos import CampaignRepo, ContactRepo, MessageRepo, recipient_sends, recipients
from storage.repos.recipients import RecipientRepo
from tests.engine.campaign.env import START, Env, phones

FIRST, SECOND, THIRD = phones(3)


@pytest.fixture
async def env(campaign_env: Env) -> Env:
    await campaign_env.contacts(FIRST, SECOND, THIRD)
    return campaign_env


def after_first_send(env: Env, change: Callable[[], Awaitable[None]]) -> None:
    """Run `change` once the first send is recorded: the second one is planned by then."""

    async def on_progress(event: CampaignProgress) -> None:
        if event.counts.get("sent") == 1 and not done:
            done.append(True)
            await change()

    done: list[bool] = []
    env.bus.subscribe(CampaignProgress, on_progress)


async def _states(env: Env, campaign: int) -> list[tuple[str, RecipientState, str | None]]:
    return [(r.phone, r.state, r.reason) async for r in CampaignRepo(env.db).recipients(campaign)]


async def test_sending_is_committed_before_the_driver_call_and_sent_with_the_message_after(
    env: Env,
) -> None:
    repo = CampaignRepo(env.db)
    at_send: list[tuple[str, RecipientState, str | None]] = []
    send_text = env.numbers.send_text

    async def observed(
        session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        # What another connection sees while WhatsApp has the message: committed `sending`.
        at_send.extend([(r.phone, r.state, r.body) async for r in repo.recipients(campaign)])
        return await send_text(session_id, chat_id, text, typing_ms=typing_ms)

    env.numbers.send_text = observed  # type: ignore[method-assign]  # the fake WhatsApp, watched
    campaign = await env.campaign(template="Hola {name}")
    await env.service.launch(campaign)
    await env.engine.run_until_idle()

    assert at_send[:3] == [
        (FIRST, RecipientState.SENDING, "Hola N01"),
        (SECOND, RecipientState.QUEUED, None),
        (THIRD, RecipientState.QUEUED, None),
    ]
    assert [state for _phone, state, _reason in await _states(env, campaign)] == [
        RecipientState.SENT
    ] * 3
    contact = await ContactRepo(env.db).get(env.client_id, FIRST)
    [message] = await MessageRepo(env.db).conversation(contact.id)
    assert (message.origin, message.direction, message.body) == (
        Origin.CAMPAIGN,
        Direction.OUT,
        "Hola N01",
    )
    assert message.wa_message_id is not None and message.campaign_id == campaign
    # The contact's last message is the campaign's: listed (last_message_at), and answered
    # (last_direction "out"), so not among the chats waiting for a reply.
    messages = MessageRepo(env.db)
    listed = {c.phone: c.last_at for c in await messages.recent_conversations(env.client_id)}
    assert set(listed) == {FIRST, SECOND, THIRD} and listed[FIRST] == message.sent_at
    assert await messages.recent_conversations(env.client_id, unanswered=True) == []
    assert (await env.service.get(campaign)).status is CampaignStatus.COMPLETED


async def test_a_contact_renamed_after_the_previous_send_gets_the_new_name(env: Env) -> None:
    async def rename() -> None:
        await ContactRepo(env.db).upsert_many(
            env.client_id, [ContactInput(SECOND, "Beatriz", ("feria",), {})]
        )

    after_first_send(env, rename)
    await env.launched(template="Hola {name}", gap_s="10", long_pause_every=0)
    assert [text for _at, _to, text in env.numbers.sent] == ["Hola N01", "Hola Beatriz", "Hola N03"]


async def test_an_opt_out_after_the_previous_send_is_honoured_at_the_next(env: Env) -> None:
    async def opt_out() -> None:
        second = await ContactRepo(env.db).get(env.client_id, SECOND)
        await ContactRepo(env.db).set_opted_out(second.id, env.clock.now())

    after_first_send(env, opt_out)
    campaign = await env.launched(gap_s="10", long_pause_every=0)
    assert [to for _at, to, _t in env.numbers.sent] == [f"{FIRST}@c.us", f"{THIRD}@c.us"]
    assert await _states(env, campaign) == [
        (FIRST, RecipientState.SENT, None),
        (SECOND, RecipientState.SKIPPED, SkipReason.OPTED_OUT.value),
        (THIRD, RecipientState.SENT, None),
    ]
    last = env.progress[-1]
    assert last.counts["skipped:opted_out"] == 1 and last.remaining == 0


async def test_an_opt_out_undone_after_the_previous_send_is_sent_after_its_check(
    env: Env,
) -> None:
    contacts = ContactRepo(env.db)
    second = await contacts.get(env.client_id, SECOND)
    await contacts.set_opted_out(second.id, START)

    async def opt_in() -> None:
        await contacts.set_opted_out(second.id, None)

    after_first_send(env, opt_in)
    await env.launched(gap_s="10", long_pause_every=0)
    assert [to for _at, to, _t in env.numbers.sent] == [f"{p}@c.us" for p in (FIRST, SECOND, THIRD)]
    assert env.numbers.checks == [FIRST, SECOND, THIRD]
    assert (await contacts.get(env.client_id, SECOND)).wa_id == f"{SECOND}@c.us"


async def test_a_pause_no_poke_announced_stops_the_next_send(env: Env) -> None:
    campaign = await env.campaign(gap_s="10", long_pause_every=0)

    async def paused_elsewhere() -> None:
        # As another process would: straight in the database, so this worker is not told.
        await CampaignRepo(env.db).set_status(campaign, CampaignStatus.PAUSED, "elsewhere")

    after_first_send(env, paused_elsewhere)
    await env.service.launch(campaign)
    await env.engine.run_until_idle()
    assert [to for _at, to, _t in env.numbers.sent] == [f"{FIRST}@c.us"]
    assert [state for _phone, state, _reason in await _states(env, campaign)] == [
        RecipientState.SENT,
        RecipientState.QUEUED,
        RecipientState.QUEUED,
    ]
    await env.service.resume(campaign)
    await env.engine.run_until_idle()
    assert len(env.numbers.sent) == 3


async def test_a_contact_forgotten_after_the_previous_send_is_passed_over(env: Env) -> None:
    async def forget() -> None:
        await ContactRepo(env.db).forget(env.client_id, SECOND)

    after_first_send(env, forget)
    campaign = await env.launched(gap_s="10", long_pause_every=0)
    assert [to for _at, to, _t in env.numbers.sent] == [f"{FIRST}@c.us", f"{THIRD}@c.us"]
    assert [phone for phone, _state, _reason in await _states(env, campaign)] == [FIRST, THIRD]
    assert (await env.service.get(campaign)).status is CampaignStatus.COMPLETED


async def _campaign_messages(env: Env) -> list[str]:
    messages = MessageRepo(env.db)
    bodies = []
    for phone in (FIRST, SECOND, THIRD):
        contact = await ContactRepo(env.db).get(env.client_id, phone)
        bodies += [m.body for m in await messages.conversation(contact.id)]
    return bodies


async def test_with_no_gap_the_next_claim_commits_the_sent_before_it_in_one_transaction(
    env: Env,
) -> None:
    repo = CampaignRepo(env.db)
    at_send: list[list[RecipientState]] = []
    begun_at_send: list[int] = []
    begun = [0]

    def on_begin(_connection: Any) -> None:
        begun[0] += 1

    send_text = env.numbers.send_text

    async def observed(
        session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        begun_at_send.append(begun[0])
        at_send.append([r.state async for r in repo.recipients(campaign)])
        begun[0] = begun_at_send[-1]  # the read above is the test's, not the worker's
        return await send_text(session_id, chat_id, text, typing_ms=typing_ms)

    env.numbers.send_text = observed  # type: ignore[method-assign]  # the fake WhatsApp, watched
    campaign = await env.campaign()
    event.listen(env.db.engine.sync_engine, "begin", on_begin)
    try:
        await env.service.launch(campaign)
        await env.engine.run_until_idle()
    finally:
        event.remove(env.db.engine.sync_engine, "begin", on_begin)

    sent, sending, queued = RecipientState.SENT, RecipientState.SENDING, RecipientState.QUEUED
    assert at_send == [[sending, queued, queued], [sent, sending, queued], [sent, sent, sending]]
    # Between the first two sends the worker commits the first `sent` on its own, then reads
    # the campaign's counts once (its first progress) and claims; from then on it opens one
    # transaction between two sends: the claim, carrying the `sent` of the send before.
    assert [b - a for a, b in itertools.pairwise(begun_at_send)] == [3, 1]
    assert await _campaign_messages(env) == ["Hola N01", "Hola N02", "Hola N03"]
    assert [state for _p, state, _r in await _states(env, campaign)] == [sent] * 3


async def test_before_a_pacing_gap_the_sent_is_committed_on_its_own(env: Env) -> None:
    repo = CampaignRepo(env.db)
    at_wait: list[list[RecipientState]] = []
    sleep_until = env.clock.sleep_until

    async def watched(when: datetime, wake: asyncio.Event) -> bool:
        at_wait.append([r.state async for r in repo.recipients(campaign)])
        return await sleep_until(when, wake)

    env.clock.sleep_until = watched  # type: ignore[method-assign]
    campaign = await env.campaign(gap_s="10", long_pause_every=0)
    await env.service.launch(campaign)
    await env.engine.run_until_idle()

    sent, queued = RecipientState.SENT, RecipientState.QUEUED
    assert at_wait[:2] == [[sent, queued, queued], [sent, sent, queued]]
    assert await _campaign_messages(env) == ["Hola N01", "Hola N02", "Hola N03"]


async def test_a_send_whose_next_claim_fails_is_recorded_sent_by_the_restart(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim, record_sent = RecipientRepo.claim, RecipientRepo.record_sent
    failed = [False]
    down = [False]  # the outage: from the first claim carrying a `sent` to that `sent` alone

    async def failing_claim(self: RecipientRepo, *args: Any, **kwargs: Any) -> Any:
        if kwargs["sent"] is not None and not failed[0]:
            failed[0] = down[0] = True
        if down[0]:
            raise StorageUnavailable("database unavailable: the test's outage")
        return await claim(self, *args, **kwargs)

    async def failing_record(self: RecipientRepo, *args: Any) -> bool:
        if down[0]:  # the worker's own try as it fails: the database is still away
            down[0] = False
            raise StorageUnavailable("database unavailable: the test's outage")
        return await record_sent(self, *args)

    monkeypatch.setattr(RecipientRepo, "claim", failing_claim)
    monkeypatch.setattr(RecipientRepo, "record_sent", failing_record)
    campaign = await env.campaign()
    await env.service.launch(campaign)
    for _ in range(100):  # the supervisor restarts the worker after its backoff
        await env.engine.run_until_idle()
        if len(env.numbers.sent) == 3:
            break
        await asyncio.sleep(0.05)

    assert failed[0]
    # Recorded before the restart's recovery, which would have made a `sending` row unknown.
    assert [state for _p, state, _r in await _states(env, campaign)] == [RecipientState.SENT] * 3
    assert await _campaign_messages(env) == ["Hola N01", "Hola N02", "Hola N03"]
    assert len(env.numbers.sent) == 3


async def test_a_stop_right_after_a_send_records_it_sent(env: Env) -> None:
    send_text = env.numbers.send_text
    stopping: list[asyncio.Task[None]] = []
    stop_began = asyncio.Event()

    async def then_stop(
        session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        sent = await send_text(session_id, chat_id, text, typing_ms=typing_ms)
        stopping.append(asyncio.create_task(env.engine.stop()))
        stop_began.set()
        return sent

    env.numbers.send_text = then_stop  # type: ignore[method-assign]
    campaign = await env.campaign()
    await env.service.launch(campaign)
    await asyncio.wait_for(stop_began.wait(), 10)
    await stopping[0]

    states = [state for _p, state, _r in await _states(env, campaign)]
    assert states == [RecipientState.SENT, RecipientState.QUEUED, RecipientState.QUEUED]
    assert await _campaign_messages(env) == ["Hola N01"]


async def test_a_sent_that_cannot_be_stored_ends_unknown_and_the_campaign_goes_on(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_sent_in = recipient_sends.record_sent_in
    first_id: list[int] = []

    async def refusing_the_first(connection: Any, recipient_id: int, message: Any) -> bool:
        first_id[:] = first_id or [recipient_id]
        if recipient_id == first_id[0]:  # not an outage: it fails the same way every time
            raise IntegrityError("insert into messages", {}, Exception("duplicate key"))
        return await record_sent_in(connection, recipient_id, message)

    # Both ways a `sent` is committed: carried by the next claim, or on its own.
    monkeypatch.setattr(recipient_sends, "record_sent_in", refusing_the_first)
    monkeypatch.setattr(recipients, "record_sent_in", refusing_the_first)
    campaign = await env.campaign()
    await env.service.launch(campaign)
    for _ in range(100):  # the supervisor restarts the worker after its backoff
        await env.engine.run_until_idle()
        if (await env.service.get(campaign)).status is CampaignStatus.COMPLETED:
            break
        await asyncio.sleep(0.05)

    assert [state for _p, state, _r in await _states(env, campaign)] == [
        RecipientState.UNKNOWN,  # WhatsApp took it; nothing sends it again
        RecipientState.SENT,
        RecipientState.SENT,
    ]
    assert len(env.numbers.sent) == 3
    assert (await env.service.get(campaign)).status is CampaignStatus.COMPLETED
