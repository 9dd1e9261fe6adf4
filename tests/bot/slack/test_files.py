"""Files and contacts' data on Slack: private output reaches the operator alone, answers
outlast the response_url, and a shared file is fetched only when it may be used."""

from __future__ import annotations

from urllib.parse import urlencode

from bot.commands.dispatcher import MAX_ATTACHMENT_BYTES
from bot.push.channel import Outgoing
from bot.slack.adapter import SlackAdapter
from storage.db import Database
from storage.records import AuditResult
from storage.repos import ClientRepo
from tests.bot.peek import PNG
from tests.bot.slack.requests import SignedSender, dm_event, slash_payload
from tests.bot.slack.world import ADMIN, OWNER, STRANGER, VIEWER, add_viewers, audit_log, only
from tests.support.fakes.slack_server import FakeSlack


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
    await add_viewers(db, 200)
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
