"""A send is two commits: the claim (the campaign's status, the recipient as it is now, the
checks at send time, `sending`) before the driver call, `sent` with the stored message after it.

The worker plans each send for the recipient the previous claim read after its own; these tests
change that recipient between the two sends and show the claim does not trust what it planned
with: a rename, an opt-out (or its undoing), a pause made where no poke reaches this worker, a
forgotten contact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from engine.events import CampaignProgress
from engine.whatsapp.types import SentMessage
from storage.records import (
    CampaignStatus,
    ContactInput,
    Direction,
    Origin,
    RecipientState,
    SkipReason,
)
from storage.repos import CampaignRepo, ContactRepo, MessageRepo
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
