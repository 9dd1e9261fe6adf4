"""How the Slack adapter connects and whom it serves: tokens checked at start-up, HTTP and
Socket Mode, and requests from another workspace or Enterprise org refused."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import pytest

from bot.commands.dispatcher import Dispatcher
from bot.push.channel import Button, Outgoing
from bot.slack.adapter import SlackAdapter
from bot.slack.web import (
    SlackTokenRejected,
)
from storage.db import Database
from storage.records import AuditResult
from tests.bot.slack.requests import SignedSender, dm_event, press_payload, slash_payload
from tests.bot.slack.world import (
    ADMIN,
    OWNER,
    SECRET,
    VIEWER,
    audit_log,
    http_adapter,
    only,
    socket_adapter,
)
from tests.support.clocks import SteppingClock
from tests.support.fakes.slack_server import BOT_USER, TEAM, Failure, FakeSlack


async def test_a_refused_bot_or_app_token_stops_start_up(
    fake: FakeSlack, dispatcher: Dispatcher
) -> None:
    fake.fail("auth.test", Failure.api("invalid_auth"))
    slack = socket_adapter(fake, dispatcher)
    with pytest.raises(SlackTokenRejected, match="invalid_auth"):
        await slack.initialize()
    await slack.shutdown()
    assert fake.calls_to("apps.connections.open") == []

    fake.fail("apps.connections.open", Failure.api("invalid_auth"))
    with pytest.raises(SlackTokenRejected, match="invalid_auth"):
        async with slack:
            pass


def test_http_mode_needs_a_signing_secret_and_a_port(dispatcher: Dispatcher) -> None:
    with pytest.raises(ValueError, match="SIGNING_SECRET"):
        SlackAdapter("xoxb-test", dispatcher, http_port=3000)
    with pytest.raises(ValueError, match="HTTP_PORT"):
        SlackAdapter("xoxb-test", dispatcher, signing_secret=SECRET)


async def test_socket_mode_acks_the_envelope_and_answers(
    fake: FakeSlack, dispatcher: Dispatcher, pace: SteppingClock, db: Database
) -> None:
    slack = socket_adapter(fake, dispatcher, language="en", clock=pace, sleep=pace.sleep)
    async with slack:
        await fake.wait_socket()
        envelope = await fake.push(
            "slash_commands", slash_payload(OWNER, "whoami", "C1"), accepts_response_payload=True
        )
        ack = await fake.wait_ack(envelope)
        assert ack["envelope_id"] == envelope
        viewer_dm = fake.dm_for(VIEWER)
        dm = await fake.push("events_api", dm_event(VIEWER, "whoami", viewer_dm))
        await fake.wait_ack(dm)
        await slack.deliver("C2", Outgoing("", buttons=(Button("Me", "/whoami"),)))
        [pushed] = fake.in_channel("C2")
        press = await fake.push("interactive", press_payload(ADMIN, pushed, "waops_run_0"))
        await fake.wait_ack(press)
        await slack.run_until_idle()

    assert f"You are slack:{OWNER}" in only(fake.in_channel("C1")).section_text
    assert f"You are slack:{VIEWER}" in only(fake.in_channel(viewer_dm)).section_text
    assert f"You are slack:{ADMIN}" in fake.in_channel("C2")[-1].section_text
    assert len(fake.calls_to("apps.connections.open")) == 1
    actors = sorted(e.actor for e in await audit_log(db))
    assert actors == sorted(f"slack:{user}" for user in (OWNER, VIEWER, ADMIN))


async def test_a_request_from_another_workspace_is_refused_and_audited(
    adapter: SlackAdapter,
    slack: SignedSender,
    fake: FakeSlack,
    db: Database,
    dispatcher: Dispatcher,
) -> None:
    assert await slack.command(OWNER, "operators", channel="C1", team="T0OTHER") == 200
    assert await slack.event(dm_event(OWNER, "whoami", fake.dm_for(OWNER), team="T0OTHER")) == 200
    await adapter.run_until_idle()
    await dispatcher.strangers.flush()

    assert adapter.team_id == TEAM
    # One row per stranger per window (bot/commands/strangers.py), counting the later attempts.
    [entry] = await audit_log(db)
    assert (entry.command, entry.result) == ("slack command", AuditResult.DENIED)
    assert entry.actor == f"slack:{OWNER}@T0OTHER"
    assert "another Slack workspace" in (entry.detail or "")
    assert (entry.detail or "").endswith("; 1 more attempt(s) within 600 s")
    [refusal] = fake.messages
    assert "not allowed" in refusal.section_text and refusal.ephemeral_to == OWNER
    assert "Operators" not in refusal.section_text


async def test_another_enterprise_org_is_refused(
    fake: FakeSlack, dispatcher: Dispatcher, db: Database
) -> None:
    fake.enterprise_id = "E0OURS"
    slack = http_adapter(fake, dispatcher)
    async with slack, aiohttp.ClientSession() as session:
        sender = SignedSender(slack.http_url, SECRET, session, fake)
        ours = slash_payload(OWNER, "whoami", "C1", response_url=fake.response_url("C1", OWNER))
        ours["enterprise_id"] = "E0OURS"
        theirs = {**ours, "enterprise_id": "E0THEIRS"}
        assert await sender.send(urlencode(theirs)) == 200
        assert await sender.send(urlencode(ours)) == 200
        await slack.run_until_idle()
    results = [(e.command, e.result) for e in await audit_log(db)]
    assert results == [("slack command", AuditResult.DENIED), ("whoami", AuditResult.OK)]


async def test_a_pinned_workspace_must_match_the_token(
    fake: FakeSlack, dispatcher: Dispatcher
) -> None:
    slack = socket_adapter(fake, dispatcher, team_id="T0SOMEWHERE")
    with pytest.raises(SlackTokenRejected, match="T0SOMEWHERE"):
        await slack.initialize()
    await slack.shutdown()
    assert fake.calls_to("apps.connections.open") == []
    assert BOT_USER == "UBOT"
