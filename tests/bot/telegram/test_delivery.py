"""What the Telegram adapter sends: pictures with buttons, documents, long texts cut within
Telegram's limits, progress edited in place, pacing per chat, and failures mapped to ours."""

from __future__ import annotations

import pytest

from bot.push.channel import AdminChannel, Button, ChannelRejected, ChannelUnavailable, Outgoing
from bot.telegram.buttons import CallbackCodec
from bot.telegram.limiter import TelegramRateLimiter
from bot.telegram.reply import cut_utf16, utf16_units
from tests.bot.peek import PNG
from tests.bot.telegram.world import (
    ADMIN,
    FETCHES,
    GROUP,
    OWNER,
    TelegramWorld,
)
from tests.support.clocks import SteppingClock


async def test_a_pushed_image_arrives_with_buttons_that_run_commands(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    long_command = "/help" + " " * 70 + "whoami"
    message = Outgoing(
        "Scan this QR",
        image=PNG,
        buttons=(Button("Who am I", "/whoami"), Button("Help", long_command)),
    )
    await world.adapter.deliver(str(ADMIN), message)

    [photo] = tg.sent("sendPhoto", ADMIN)
    assert photo.files["photo"][1] == PNG
    assert photo.params["caption"] == "Scan this QR"
    labels = [label for label, _ in photo.buttons]
    assert labels == ["Who am I", "Help"]
    assert all(len(data.encode()) <= 64 for _, data in photo.buttons)

    await world.adapter.handled(await tg.press(ADMIN, photo, "Help"))
    assert "/whoami" in tg.texts(ADMIN)[-1]
    await world.adapter.handled(await tg.press(ADMIN, photo, "Who am I"))
    assert tg.texts(ADMIN)[-1].startswith("You are tg:2")
    assert tg.buttons_of(ADMIN, photo.message_id) is None


async def test_a_caption_too_long_for_telegram_follows_the_picture(world: TelegramWorld) -> None:
    tg = world.tg
    digest = "Digest\n" + "haby: 3 new conversations\n" * 60
    await world.adapter.deliver(
        str(OWNER), Outgoing(digest, image=PNG, buttons=(Button("More", "/help"),))
    )
    [photo] = tg.sent("sendPhoto", OWNER)
    [text] = tg.sent("sendMessage", OWNER)
    assert "caption" not in photo.params
    assert photo.buttons == []
    assert text.params["text"] == digest
    assert [label for label, _ in text.buttons] == ["More"]


async def test_documents_and_long_texts(world: TelegramWorld) -> None:
    tg = world.tg
    csv = b"phone\n5491112345678\n"
    await world.adapter.handled(await tg.upload(OWNER, "leads.csv", csv, caption="/import haby"))
    assert world.uploads == [], "a command in the caption goes to the dispatcher"
    assert [c.method for c in tg.calls if c.method in FETCHES] == ["getFile", "download"]
    assert tg.texts(OWNER)[-1].startswith("1 filas: 1 nuevas"), "imported, in Olga's Spanish"

    await world.adapter.handled(await tg.upload(OWNER, "notes.txt", b"hello", caption="notes"))
    [upload] = world.uploads
    assert (upload.upload.actor, upload.upload.channel) == ("tg:1", "1")
    assert (upload.upload.file_name, upload.upload.size_bytes) == ("notes.txt", 5)
    assert tg.texts(OWNER)[-1] == "got notes.txt: 5 bytes, no command"
    assert len([c for c in tg.calls if c.method in FETCHES]) == 2, "nothing fetched for it"

    # Emoji count twice in Telegram's limit: the neutral split alone would exceed it.
    long_text = "😀" * 3000 + "\n" + "line\n" * 900
    await world.adapter.reply_to(str(ADMIN)).text(long_text)
    sent = tg.texts(ADMIN)
    assert len(sent) >= 3
    assert all(utf16_units(text) <= 4096 for text in sent)
    assert "".join(sent).replace("\n", "") == long_text.replace("\n", "")


async def test_progress_is_one_message_edited_in_place(world: TelegramWorld) -> None:
    tg = world.tg
    progress = await world.adapter.reply_to(str(ADMIN)).progress("sent 0/3")
    await progress.update("sent 1/3")
    await progress.update("sent 1/3")
    await progress.update("sent 3/3")
    progress.last_text = "stale"  # another writer: Telegram answers "message is not modified"
    await progress.update("sent 3/3")

    [first] = tg.sent("sendMessage", ADMIN)
    edits = tg.sent("editMessageText", ADMIN)
    assert [e.params["text"] for e in edits] == ["sent 1/3", "sent 3/3"]
    message_id = first.message_id
    assert {int(e.params["message_id"]) for e in edits} == {message_id}
    assert [c.status for c in tg.calls if c.method == "editMessageText"] == [200, 200, 400]


async def test_deliver_maps_outages_rate_limits_and_refusals(world: TelegramWorld) -> None:
    tg = world.tg
    tg.fail(1, status=502)
    with pytest.raises(ChannelUnavailable) as outage:
        await world.adapter.deliver(str(ADMIN), Outgoing("alert 1"))
    assert outage.value.retry_after_s is None
    await world.adapter.deliver(str(ADMIN), Outgoing("alert 1"))
    assert tg.texts(ADMIN) == ["alert 1"]

    tg.fail(1, status=429, retry_after=7)
    with pytest.raises(ChannelUnavailable) as flood:
        await world.adapter.deliver(str(ADMIN), Outgoing("alert 2"))
    assert flood.value.retry_after_s == 7
    world.time.sleeps.clear()
    await world.adapter.deliver(str(OWNER), Outgoing("meanwhile"))
    assert world.time.sleeps == [], "a flood answer in one chat holds that chat only"
    await world.adapter.deliver(str(ADMIN), Outgoing("alert 2"))
    assert world.time.sleeps == [pytest.approx(7.0)], "held as long as Telegram asked"
    assert tg.texts(ADMIN) == ["alert 1", "alert 2"]

    tg.refuse(55)
    with pytest.raises(ChannelRejected):
        await world.adapter.deliver("55", Outgoing("hello"))
    tg.refuse(56, 400, "Bad Request: chat not found")
    with pytest.raises(ChannelRejected):
        await world.adapter.deliver("56", Outgoing("hello", file_name="a.txt", file_data=b"a"))
    with pytest.raises(ChannelRejected):
        await world.adapter.deliver("not-a-chat", Outgoing("hello"))


async def test_messages_to_one_chat_are_spaced_by_the_per_chat_interval(
    world: TelegramWorld,
) -> None:
    channel: AdminChannel = world.adapter  # mypy checks the adapter fits the port
    assert (channel.prefix, channel.min_interval_s) == ("tg", 1.0)
    world.time.sleeps.clear()
    await world.adapter.deliver(str(ADMIN), Outgoing("one"))
    await world.adapter.deliver(str(ADMIN), Outgoing("two"))
    await world.adapter.deliver(str(OWNER), Outgoing("three"))
    assert world.time.sleeps == [pytest.approx(1.0)], "another chat waits for nobody's turn"
    world.time.advance(10)
    world.time.sleeps.clear()
    await world.adapter.deliver(str(GROUP), Outgoing("four"))
    await world.adapter.deliver(str(GROUP), Outgoing("five"))
    assert world.time.sleeps == [pytest.approx(3.0)], "groups: 20 a minute"


def test_ten_replies_queued_for_one_chat_hold_up_no_other() -> None:
    clock = SteppingClock()
    limiter = TelegramRateLimiter(clock=clock, sleep=clock.sleep)
    waits = [limiter.reserve("42") for _ in range(10)]
    assert waits == [pytest.approx(float(n)) for n in range(10)], "one a second in chat 42"
    assert limiter.reserve("43") == 0.0, "chat 43 does not queue behind chat 42"
    assert [limiter.reserve("-1001") for _ in range(2)] == [0.0, pytest.approx(3.0)]


def test_callback_data_fits_telegram_and_survives_when_short() -> None:
    codec = CallbackCodec(capacity=2)
    short = codec.encode(CallbackCodec.RUN, "/pair haby main")
    assert short == "r:/pair haby main"
    assert CallbackCodec().decode(short) == ("r", "/pair haby main"), "no memory needed"
    long = codec.encode(CallbackCodec.RUN, "/conv haby " + "9" * 80)
    assert len(long.encode()) <= 64
    assert codec.decode(long) == ("r", "/conv haby " + "9" * 80)
    codec.encode(CallbackCodec.RUN, "x" * 70)
    codec.encode(CallbackCodec.RUN, "y" * 70)
    assert codec.decode(long) is None, "the oldest long payload is forgotten first"
    assert codec.decode("z:1") is None
    assert codec.decode(None) is None


def test_utf16_cuts_never_split_a_character() -> None:
    assert cut_utf16("ab😀c", 3) == ["ab", "😀c"]
    assert [utf16_units(p) for p in cut_utf16("😀" * 5, 4)] == [4, 4, 2]
