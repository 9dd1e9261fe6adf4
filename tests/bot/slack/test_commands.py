"""Slack chat-ops commands end to end: signed slash commands, who may run what, confirmations
and what is refused before it is read (fixtures in conftest.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from bot.commands.parsing import MAX_COMMAND_CHARS
from bot.slack.adapter import SlackAdapter
from bot.slack.web import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
)
from storage.db import Database
from storage.records import AuditResult
from storage.repos import OperatorRepo
from tests.bot.slack.requests import SignedSender, slash_payload
from tests.bot.slack.world import ADMIN, OWNER, STRANGER, VIEWER, audit_log, only
from tests.support.fakes.slack_server import FakeSlack, Message


async def test_a_signed_slash_command_runs_and_its_answer_is_posted(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    assert await slack.command(OWNER, "help", channel="C1") == 200
    await adapter.run_until_idle()

    answer = only(fake.in_channel("C1"))
    assert "Commands you can run" in answer.section_text
    assert "/waops operator remove" in answer.section_text, "Slack's command prefix in help"
    assert answer.ephemeral_to == OWNER, "answered to whoever asked, through the response_url"
    assert [c.method for c in fake.calls if c.method != "auth.test"] == ["response_url"]
    [entry] = await audit_log(db)
    assert (entry.actor, entry.platform, entry.command) == (f"slack:{OWNER}", "slack", "help")
    assert entry.result is AuditResult.OK


async def test_the_slash_command_alone_shows_help(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack
) -> None:
    assert await slack.command(VIEWER, "   ", channel="C1") == 200
    await adapter.run_until_idle()
    assert "Commands you can run" in only(fake.in_channel("C1")).section_text


async def test_a_bad_or_stale_signature_is_refused_and_nothing_runs(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    body = urlencode(slash_payload(OWNER, "help", "C1"))
    assert await slack.send(body, signature="v0=" + "0" * 64) == 401
    assert await slack.send(body, timestamp=1_600_000_000) == 401, "a replayed old request"
    await adapter.run_until_idle()

    assert fake.calls_to("chat.postMessage") == []
    assert fake.messages == []
    assert await audit_log(db) == []


async def test_an_unknown_user_gets_exactly_one_refusal(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    assert await slack.command(STRANGER, "operators", channel="C7") == 200
    await adapter.run_until_idle()

    refusal = only(fake.in_channel("C7"))
    assert "not allowed" in refusal.section_text
    assert f"slack:{STRANGER}" in refusal.section_text
    assert refusal.ephemeral_to == STRANGER
    assert len(fake.messages) == 1 and len(fake.calls_to("response_url")) == 1
    [entry] = await audit_log(db)
    assert entry.result is AuditResult.DENIED


async def test_a_destructive_command_runs_once_when_its_proposer_confirms(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    await slack.command(OWNER, f"operator remove slack:{VIEWER}", channel="C1")
    await adapter.run_until_idle()
    proposal = only(fake.in_channel("C1"))
    assert [b["action_id"] for b in proposal.buttons] == [CONFIRM_ACTION, CANCEL_ACTION]
    assert [b["text"]["text"] for b in proposal.buttons] == ["Confirm", "Cancel"]

    assert await slack.press(ADMIN, proposal, CONFIRM_ACTION) == 200
    await adapter.run_until_idle()
    assert "Only the person who asked" in fake.in_channel("C1")[-1].section_text
    assert proposal.buttons, "someone else's press leaves the buttons for the proposer"
    assert await OperatorRepo(db).find(f"slack:{VIEWER}") is not None

    stale = Message(proposal.channel, proposal.ts, proposal.text, list(proposal.blocks))
    assert await slack.press(OWNER, proposal, CONFIRM_ACTION) == 200
    await adapter.run_until_idle()
    assert await OperatorRepo(db).find(f"slack:{VIEWER}") is None
    assert proposal.buttons == [], "the buttons make way for what happened"
    assert f"Confirmed by <@{OWNER}>" in proposal.context_text
    assert proposal.text == stale.text, "the proposal's text stays"
    assert [m.ts for m in fake.in_channel("C1")].count(proposal.ts) == 1

    # A second press on a copy of the old buttons (a slow client) runs nothing.
    await slack.press(OWNER, stale, CONFIRM_ACTION)
    await adapter.run_until_idle()
    assert "no longer valid" in fake.in_channel("C1")[-1].section_text
    confirmed = [e for e in await audit_log(db) if e.detail == "confirmed"]
    assert len(confirmed) == 1


async def test_cancel_drops_the_proposal(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    await slack.command(OWNER, f"operator remove slack:{VIEWER}", channel="C1")
    await adapter.run_until_idle()
    proposal = only(fake.in_channel("C1"))

    await slack.press(OWNER, proposal, CANCEL_ACTION)
    await adapter.run_until_idle()
    assert "nothing was done" in fake.in_channel("C1")[-1].section_text
    assert proposal.buttons == []
    assert f"Cancelled by <@{OWNER}>" in proposal.context_text
    assert await OperatorRepo(db).find(f"slack:{VIEWER}") is not None


# Every word opens a quote that nothing closes: 40,000 characters (Slack's own limit for a
# message) that the old parser took ~16 s on, the whole event loop stalled meanwhile.
HOSTILE_TEXT = "operators " + '"x"x ' * 7_998


async def test_a_strangers_huge_command_is_refused_without_being_read(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    assert await slack.command(STRANGER, HOSTILE_TEXT, channel="C7") == 200
    await adapter.run_until_idle()

    assert "not allowed" in only(fake.in_channel("C7")).section_text
    [entry] = await audit_log(db)
    assert (entry.command, entry.result, entry.detail) == (
        "operators",
        AuditResult.DENIED,
        "unknown user",
    )
    assert entry.args == "", "nothing past the first word was parsed for a stranger"


async def test_an_operators_over_long_command_is_refused_saying_the_limit(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    assert await slack.command(OWNER, HOSTILE_TEXT, channel="C1") == 200
    await adapter.run_until_idle()

    answer = only(fake.in_channel("C1")).section_text
    assert f"at most {MAX_COMMAND_CHARS} are read" in answer
    [entry] = await audit_log(db)
    assert (entry.command, entry.result) == ("operators", AuditResult.ERROR)
