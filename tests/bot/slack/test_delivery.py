"""What the Slack adapter posts: pictures with buttons, files, long texts within Slack's limits,
progress updated in place, pacing, and Slack's failures mapped to ours."""

from __future__ import annotations

import pytest

from bot.push.channel import Button, ChannelRejected, ChannelUnavailable, Outgoing
from bot.slack.adapter import SlackAdapter
from bot.slack.web import (
    SECTION_LIMIT,
    text_blocks,
)
from storage.db import Database
from tests.bot.peek import PNG
from tests.bot.slack.requests import SignedSender
from tests.bot.slack.world import (
    ALERTS,
    DIGESTS,
    OWNER,
    STRANGER,
    UPLOADS,
    VIEWER,
    add_viewers,
    only,
)
from tests.support.clocks import SteppingClock
from tests.support.fakes.slack_server import Failure, FakeSlack


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
    await add_viewers(db, 90)
    await slack.command(OWNER, "operators", channel="C1")
    await adapter.run_until_idle()

    parts = fake.in_channel("C1")
    assert len(parts) == 2
    assert all(len(m.section_text) <= SECTION_LIMIT for m in parts)
    listed = "\n".join(m.section_text for m in parts)
    assert all(f"slack:U{n:08d}" in listed for n in range(90))


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
