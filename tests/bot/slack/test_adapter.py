"""The Slack adapter end to end: real slack-bolt and slack_sdk, a fake Slack Web API on
127.0.0.1, the real dispatcher over the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.commands.assembly import build_registry
from bot.commands.base import Command, CommandContext, Proposal
from bot.commands.dispatcher import MAX_ATTACHMENT_BYTES, Dispatcher
from bot.commands.parsing import MAX_COMMAND_CHARS
from bot.commands.prospects import ProspectCommands
from bot.push.channel import Button, ChannelRejected, ChannelUnavailable, Outgoing
from bot.slack.adapter import SlackAdapter
from bot.slack.web import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    SECTION_LIMIT,
    SlackTokenRejected,
    text_blocks,
)
from engine.directory import Directory
from storage.db import Database
from storage.records import AuditEntry, AuditResult, Role
from storage.repos import AuditRepo, ClientRepo, OperatorRepo
from tests.bot.commands.world import Clock
from tests.bot.slack.requests import SignedSender, dm_event, press_payload, slash_payload
from tests.support.fakes.slack_server import BOT_USER, TEAM, Failure, FakeSlack, Message
from tests.support.fakes.stepping_clock import SteppingClock

SECRET = "signing-secret-for-tests"
OWNER, ADMIN, VIEWER, STRANGER = "UOWNER", "UADMIN", "UVIEWER", "USTRANGER"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Channels the bot was invited to, with ids of Slack's shape (files need one: bolt-js#2115).
ALERTS, DIGESTS, UPLOADS = "C0ALERTS09", "C0DIGEST02", "C0UPLOADS5"


@pytest.fixture
async def dispatcher(db: Database) -> Dispatcher:
    operators = OperatorRepo(db)
    await operators.add(f"slack:{OWNER}", Role.OWNER, display_name="Olga")
    await operators.add(f"slack:{ADMIN}", Role.ADMIN)
    await operators.add(f"slack:{VIEWER}", Role.VIEWER)
    audit = AuditRepo(db)
    registry = build_registry(Directory(db), audit)
    registry.extend(ProspectCommands(db).commands())
    registry.add(
        Command(
            "peek",
            _peek,
            role=Role.VIEWER,
            private_output=True,
            help_key="help.help",
            usage_key="whoami.usage",
        )
    )
    return Dispatcher(registry, operators, audit, default_language="en", clock=Clock())


CONTACT_TEXT = "Ana +5491150000001: hola, tienen envíos?"


async def _peek(ctx: CommandContext) -> Proposal | None:
    """Stands for /digest, /conv or /pair: a picture, a file and a text with a contact's words."""
    await ctx.reply.image(PNG, "QR for haby/main")
    await ctx.reply.file("digest.csv", CONTACT_TEXT.encode(), "digest of haby")
    await ctx.send(CONTACT_TEXT)
    return None


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        for channel in (ALERTS, DIGESTS, UPLOADS, "C2", "C3", "C4"):
            server.add_channel(channel, everyone=True)
        yield server
        server.assert_no_unexpected()


@pytest.fixture
def pace() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def adapter(
    fake: FakeSlack, dispatcher: Dispatcher, pace: SteppingClock
) -> AsyncIterator[SlackAdapter]:
    """HTTP mode on an ephemeral port of 127.0.0.1."""
    slack = SlackAdapter(
        fake.bot_token,
        dispatcher,
        signing_secret=SECRET,
        api_url=fake.api_url,
        http_host="127.0.0.1",
        http_port=0,
        language="en",
        clock=pace,
        sleep=pace.sleep,
    )
    async with slack:
        yield slack


@pytest.fixture
async def slack(adapter: SlackAdapter, fake: FakeSlack) -> AsyncIterator[SignedSender]:
    async with aiohttp.ClientSession() as session:
        yield SignedSender(adapter.http_url, SECRET, session, fake)


async def audit_log(db: Database) -> list[AuditEntry]:
    return list(reversed(await AuditRepo(db).recent(100)))


def only(messages: list[Message]) -> Message:
    assert len(messages) == 1, [m.text for m in messages]
    return messages[0]


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


async def test_a_pushed_image_with_buttons_and_a_press_runs_the_command(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack
) -> None:
    buttons = (Button("Who am I", "/whoami"), Button("Help", "/help operators"))
    await adapter.deliver(ALERTS, Outgoing("Scan <this> & pair", image=PNG, buttons=buttons))

    [upload] = fake.uploads
    assert (upload.channel, upload.data, upload.filename) == (ALERTS, PNG, "waops.png")
    assert upload.initial_comment == "Scan &lt;this&gt; &amp; pair"
    assert [c.method for c in fake.calls] == [
        "auth.test",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
        "chat.postMessage",
    ]
    actions = only(fake.in_channel(ALERTS))
    assert [(b["text"]["text"], b["value"]) for b in actions.buttons] == [
        ("Who am I", "/whoami"),
        ("Help", "/help operators"),
    ]

    await slack.press(VIEWER, actions, actions.buttons[0]["action_id"])
    await slack.press(STRANGER, actions, actions.buttons[0]["action_id"])
    await adapter.run_until_idle()
    answers = fake.in_channel(ALERTS)[1:]
    assert len(answers) == 2
    assert sorted(str(m.ephemeral_to) for m in answers) == sorted([VIEWER, STRANGER])
    assert any(f"You are slack:{VIEWER}" in m.section_text for m in answers)
    assert any("not allowed" in m.section_text for m in answers)
    assert len(actions.buttons) == 2, "command buttons stay for the next person"


async def test_a_pushed_file_and_plain_text(adapter: SlackAdapter, fake: FakeSlack) -> None:
    await adapter.deliver(DIGESTS, Outgoing("Digest", file_name="digest.csv", file_data=b"a,b\n"))
    await adapter.deliver(DIGESTS, Outgoing("Session haby/main is down"))

    [upload] = fake.uploads
    assert (upload.filename, upload.data, upload.initial_comment) == (
        "digest.csv",
        b"a,b\n",
        "Digest",
    )
    assert only(fake.in_channel(DIGESTS)).section_text == "Session haby/main is down"


async def test_long_output_is_split_within_slack_limits(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    operators = OperatorRepo(db)
    for n in range(90):
        await operators.add(f"slack:U{n:08d}", Role.VIEWER)
    await slack.command(OWNER, "operators", channel="C1")
    await adapter.run_until_idle()

    parts = fake.in_channel("C1")
    assert len(parts) == 2
    assert all(len(m.section_text) <= SECTION_LIMIT for m in parts)
    listed = "\n".join(m.section_text for m in parts)
    assert all(f"slack:U{n:08d}" in listed for n in range(90))


async def test_a_csv_shared_in_a_direct_message_is_imported(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    csv = fake.share_file("lista.csv", b"telefono,nombre\n+5491150000001,Ana\nhola,X\n")
    dm = fake.dm_for(OWNER)
    assert await slack.event(dm_event(OWNER, "/waops import haby feria", dm, [csv])) == 200
    await adapter.run_until_idle()

    report = only(fake.in_channel(dm)).section_text
    assert "2 rows: 1 added" in report and "line 3: hola — not a phone number" in report
    assert [c.params["file_id"] for c in fake.calls_to("download")] == [csv["id"]]
    [entry] = await audit_log(db)
    assert (entry.command, entry.result) == ("import", AuditResult.OK)


def test_escaping_never_pushes_a_section_over_the_limit() -> None:
    blocks = text_blocks("&" * SECTION_LIMIT)
    texts = [b["text"]["text"] for b in blocks]
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    assert "".join(texts) == "&amp;" * SECTION_LIMIT


async def test_progress_is_one_message_updated_in_place(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    handle = await adapter.reply_for("C3").progress("Sending 0/10")
    await handle.update("Sending 5/10")
    await handle.update("Done: 10/10 <sent>")

    message = only(fake.in_channel("C3"))
    assert message.section_text == "Done: 10/10 &lt;sent&gt;"
    assert [text for text, _ in message.history] == ["Sending 0/10", "Sending 5/10"]
    assert [c.params["ts"] for c in fake.calls_to("chat.update")] == [message.ts] * 2


async def test_deliver_maps_slack_failures_and_works_after_recovery(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    fake.fail(
        "chat.postMessage",
        Failure.ratelimited(retry_after_s=7),
        Failure.http(502),
        Failure.api("channel_not_found"),
        Failure.api("is_archived"),
    )
    message = Outgoing("Session haby/main is down")
    with pytest.raises(ChannelUnavailable) as limited:
        await adapter.deliver("C4", message)
    assert limited.value.retry_after_s == 7
    with pytest.raises(ChannelUnavailable) as gateway:
        await adapter.deliver("C4", message)
    assert gateway.value.retry_after_s is None
    with pytest.raises(ChannelRejected, match="channel_not_found"):
        await adapter.deliver("C4", message)
    with pytest.raises(ChannelRejected, match="is_archived"):
        await adapter.deliver("C4", message)
    assert fake.in_channel("C4") == []

    await adapter.deliver("C4", message)
    assert only(fake.in_channel("C4")).section_text == "Session haby/main is down"


async def test_a_failed_upload_is_unavailable(adapter: SlackAdapter, fake: FakeSlack) -> None:
    fake.fail("files.completeUploadExternal", Failure.http(503))
    with pytest.raises(ChannelUnavailable):
        await adapter.deliver(UPLOADS, Outgoing("QR", image=PNG))
    await adapter.deliver(UPLOADS, Outgoing("QR", image=PNG))
    assert [u.channel for u in fake.uploads] == [UPLOADS]


async def test_an_unreachable_slack_is_unavailable(adapter: SlackAdapter, fake: FakeSlack) -> None:
    await fake.close()
    with pytest.raises(ChannelUnavailable):
        await adapter.deliver("C6", Outgoing("anyone there?"))


async def test_messages_to_one_channel_are_paced(
    adapter: SlackAdapter, fake: FakeSlack, pace: SteppingClock
) -> None:
    for text in ("one", "two", "three"):
        await adapter.deliver("C1", Outgoing(text))
    await adapter.deliver("C2", Outgoing("elsewhere"))

    assert pace.sleeps == [1.0, 1.0], "one second apart in C1, C2 not held up"
    assert adapter.min_interval_s == 1.0
    assert len(fake.calls_to("chat.postMessage")) == 4


async def test_a_refused_bot_or_app_token_stops_start_up(
    fake: FakeSlack, dispatcher: Dispatcher
) -> None:
    fake.fail("auth.test", Failure.api("invalid_auth"))
    slack = SlackAdapter(fake.bot_token, dispatcher, app_token=fake.app_token, api_url=fake.api_url)
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
    slack = SlackAdapter(
        fake.bot_token,
        dispatcher,
        app_token=fake.app_token,
        api_url=fake.api_url,
        language="en",
        clock=pace,
        sleep=pace.sleep,
    )
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


async def test_files_and_contacts_data_reach_the_operator_alone(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack
) -> None:
    assert await slack.command(OWNER, "peek", channel="C1") == 200
    await adapter.run_until_idle()

    dm = fake.dm_of(OWNER)
    assert dm is not None and dm.startswith("D"), "opened with conversations.open (im:write)"
    assert [(u.channel, u.filename) for u in fake.uploads] == [
        (dm, "waops.png"),
        (dm, "digest.csv"),
    ]
    assert fake.uploads[0].data == PNG
    in_c1 = fake.in_channel("C1")
    assert {m.ephemeral_to for m in in_c1} == {OWNER}, "nothing in C1 that others see"
    assert any("direct messages" in m.section_text for m in in_c1), "a pointer to the DM"
    assert any("hola, tienen envíos?" in m.section_text for m in in_c1)
    assert not any("hola" in text for text in fake.shared_texts())
    assert len(fake.calls_to("conversations.open")) == 1, "the DM is remembered"

    await adapter.deliver(OWNER, Outgoing("QR rotated", image=PNG))
    assert [u.channel for u in fake.uploads][-1] == dm, "a push to slack:U... goes to the DM"
    assert len(fake.calls_to("conversations.open")) == 1


async def test_answers_outlast_the_response_url_and_the_channel(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    operators = OperatorRepo(db)
    for n in range(200):
        await operators.add(f"slack:U{n:08d}", Role.VIEWER)
    fake.add_channel("G0PRIVATE1", private=True, members=(OWNER,), bot=False)
    await slack.command(OWNER, "operators", channel="G0PRIVATE1")
    await adapter.run_until_idle()
    # Within the five uses of the response_url; the bot is not in that private channel.
    assert len(fake.calls_to("response_url")) <= 5
    shown = [m for m in fake.messages if m.channel == "G0PRIVATE1"]
    assert shown and all(m.ephemeral_to == OWNER for m in shown)

    # No usable response_url, and the operator has left the channel since: their DM.
    fake.add_channel("C0ELSEWHERE", members=(ADMIN,))
    await slack.send(urlencode(slash_payload(OWNER, "whoami", "C0ELSEWHERE")))
    await adapter.run_until_idle()
    dm = fake.dm_of(OWNER)
    assert dm is not None
    assert fake.in_channel(dm), "an answer goes somewhere: here, the DM"
    assert all(m.ephemeral_to is not None for m in fake.in_channel("C0ELSEWHERE"))


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
    slack = SlackAdapter(
        fake.bot_token,
        dispatcher,
        signing_secret=SECRET,
        api_url=fake.api_url,
        http_host="127.0.0.1",
        http_port=0,
        language="en",
    )
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
    slack = SlackAdapter(
        fake.bot_token,
        dispatcher,
        app_token=fake.app_token,
        api_url=fake.api_url,
        team_id="T0SOMEWHERE",
    )
    with pytest.raises(SlackTokenRejected, match="T0SOMEWHERE"):
        await slack.initialize()
    await slack.shutdown()
    assert fake.calls_to("apps.connections.open") == []
    assert BOT_USER == "UBOT"


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


async def test_a_file_is_downloaded_only_once_its_sender_may_run_the_command(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    for user in (STRANGER, VIEWER):
        csv = fake.share_file("lista.csv", b"telefono\n+5491150000001\n")
        assert await slack.event(dm_event(user, "import haby", fake.dm_for(user), [csv])) == 200
    await adapter.run_until_idle()

    assert fake.calls_to("download") == [], "no file fetched for a stranger or a viewer"
    assert "not allowed" in only(fake.in_channel(fake.dm_for(STRANGER))).section_text
    refused = only(fake.in_channel(fake.dm_for(VIEWER))).section_text
    assert "operator role or higher for import" in refused
    assert [(e.actor, e.result) for e in await audit_log(db)] == [
        (f"slack:{STRANGER}", AuditResult.DENIED),
        (f"slack:{VIEWER}", AuditResult.DENIED),
    ]


async def test_a_file_over_the_limit_is_refused_saying_so_and_never_downloaded(
    adapter: SlackAdapter, slack: SignedSender, fake: FakeSlack, db: Database
) -> None:
    await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    big = fake.share_file("big.csv", b"x" * (MAX_ATTACHMENT_BYTES + 1))
    dm = fake.dm_for(OWNER)
    assert await slack.event(dm_event(OWNER, "import haby", dm, [big])) == 200
    await adapter.run_until_idle()

    mb = MAX_ATTACHMENT_BYTES // (1024 * 1024)
    assert f"The file is over {mb} MB" in only(fake.in_channel(dm)).section_text
    assert fake.calls_to("download") == []
    [entry] = await audit_log(db)
    assert (entry.command, entry.result) == ("import", AuditResult.ERROR)
