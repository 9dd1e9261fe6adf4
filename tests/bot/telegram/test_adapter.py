"""The Telegram adapter end to end: real PTB, real dispatcher and database, fake Bot API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.commands.base import CommandRequest
from bot.push.channel import AdminChannel, Button, ChannelRejected, ChannelUnavailable, Outgoing
from bot.telegram.adapter import PLATFORM, private_chat_of
from bot.telegram.buttons import CallbackCodec
from bot.telegram.limiter import TelegramRateLimiter
from bot.telegram.reply import cut_utf16, utf16_units
from bot.telegram.updates import MAX_DOCUMENT_BYTES
from bot.texts import t
from storage.db import Database
from storage.records import AuditResult, Role
from storage.repos import AuditRepo
from tests.bot.telegram.world import (
    ADMIN,
    CONTACT_TEXT,
    GROUP,
    NEWCOMER,
    OPERATOR,
    OWNER,
    STRANGER,
    VIEWER,
    TelegramWorld,
    build,
    seed,
)
from tests.support.fakes.stepping_clock import SteppingClock
from tests.support.fakes.telegram_server import FakeTelegram

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_FETCHES = ("getFile", "download")  # how a bot reads a document: Bot API getFile, then the file


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns on every RetryAfter unless told to use timedelta already; warnings are errors.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake
        fake.assert_no_unexpected()


@pytest.fixture
async def world(
    db: Database, tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[TelegramWorld]:
    await seed(db)
    world = build(db, tg)
    async with world.adapter:
        yield world
    # The adapter logs and swallows what goes wrong in an update: a test must see it.
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_start_and_help_answer_in_each_operators_language(world: TelegramWorld) -> None:
    tg = world.tg
    await world.write(OWNER, "/start", language="en")  # the operator's own setting wins
    await world.write(ADMIN, "/help")
    await world.write(ADMIN, f"/whoami@{world.adapter.bot_username}")
    await world.write(ADMIN, "/whoami@some_other_bot")

    assert tg.texts(OWNER) == [t("es", "start.greeting", name="Olga", help="/help")]
    assert world.reachable == [("tg:1", "tg:1")]
    help_text = tg.texts(ADMIN)[0]
    assert help_text.startswith(t("en", "help.header"))
    assert "/operator add" in help_text
    assert tg.texts(ADMIN)[1].startswith("You are tg:2")
    assert len(tg.texts(ADMIN)) == 2, "a command for another bot is not ours"
    menus = tg.sent("setMyCommands")
    assert [m.params.get("language_code") for m in menus] == ["es", "en", None]
    names = [c["command"] for c in menus[1].params["commands"]]
    assert {"help", "start", "operator"} <= set(names)


async def test_an_unknown_user_gets_one_refusal_and_nothing_else(world: TelegramWorld) -> None:
    await world.write(STRANGER, "/start", language="es")
    await world.write(STRANGER, "/help", language="es")

    refusal = t("es", "denied.unknown_user", actor="tg:999")
    assert world.tg.texts(STRANGER) == [refusal], "one refusal per chat per window"
    assert [c.method for c in world.tg.sent(chat_id=STRANGER)] == ["sendMessage"]
    assert world.reachable == []


async def test_a_destructive_command_is_confirmed_only_by_its_proposer(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    await world.write(OWNER, "/operator remove tg:5", chat_id=GROUP)
    [prompt] = tg.sent("sendMessage", GROUP)
    assert [label for label, _ in prompt.buttons] == [
        t("es", "confirm.button"),
        t("es", "confirm.cancel_button"),
    ]
    confirm = t("es", "confirm.button")

    await world.adapter.handled(await tg.press(ADMIN, prompt, confirm))
    assert tg.texts(GROUP)[-1] == t("en", "confirm.not_yours", command="/operator remove")
    assert await world.role_of(VIEWER) is Role.VIEWER
    message_id = prompt.message_id
    assert tg.buttons_of(GROUP, message_id) is not None, "the proposer may still press"

    await world.adapter.handled(await tg.press(OWNER, prompt, confirm))
    assert await world.role_of(VIEWER) is None
    assert tg.texts(GROUP)[-1] == t("es", "operator.removed", id="tg:5")
    assert tg.buttons_of(GROUP, message_id) is None

    await world.adapter.handled(await tg.press(OWNER, prompt, confirm))
    assert tg.texts(GROUP)[-1] == t("es", "confirm.unknown", command="/confirm")
    removed = [x for x in tg.texts(GROUP) if x == t("es", "operator.removed", id="tg:5")]
    assert len(removed) == 1
    assert len(tg.sent("answerCallbackQuery")) == 3


async def test_cancel_drops_the_proposal(world: TelegramWorld) -> None:
    tg = world.tg
    await world.write(ADMIN, "/operator remove tg:5")
    [prompt] = tg.sent("sendMessage", ADMIN)
    await world.adapter.handled(await tg.press(ADMIN, prompt, "Cancel"))
    assert tg.texts(ADMIN)[-1] == t("en", "confirm.cancelled")
    assert await world.role_of(VIEWER) is Role.VIEWER
    assert tg.buttons_of(ADMIN, prompt.message_id) is None


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


async def test_a_button_pressed_by_a_stranger_is_refused_and_stays(world: TelegramWorld) -> None:
    tg = world.tg
    await world.adapter.deliver(str(GROUP), Outgoing("alert", buttons=(Button("Who", "/whoami"),)))
    [alert] = tg.sent("sendMessage", GROUP)
    await world.adapter.handled(await tg.press(STRANGER, alert, "Who", language="es"))
    assert tg.texts(GROUP)[-1] == t("es", "denied.unknown_user", actor="tg:999")
    assert tg.buttons_of(GROUP, alert.message_id) is not None


async def test_documents_and_long_texts(world: TelegramWorld) -> None:
    tg = world.tg
    csv = b"phone\n5491112345678\n"
    await world.adapter.handled(await tg.upload(OWNER, "leads.csv", csv, caption="/import haby"))
    assert world.uploads == [], "a command in the caption goes to the dispatcher"
    assert [c.method for c in tg.calls if c.method in _FETCHES] == ["getFile", "download"]
    assert tg.texts(OWNER)[-1].startswith("1 filas: 1 nuevas"), "imported, in Olga's Spanish"

    await world.adapter.handled(await tg.upload(OWNER, "notes.txt", b"hello", caption="notes"))
    [upload] = world.uploads
    assert (upload.upload.actor, upload.upload.channel) == ("tg:1", "1")
    assert (upload.upload.file_name, upload.upload.size_bytes) == ("notes.txt", 5)
    assert tg.texts(OWNER)[-1] == "got notes.txt: 5 bytes, no command"
    assert len([c for c in tg.calls if c.method in _FETCHES]) == 2, "nothing fetched for it"

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
    world.time.now += 10
    world.time.sleeps.clear()
    await world.adapter.deliver(str(GROUP), Outgoing("four"))
    await world.adapter.deliver(str(GROUP), Outgoing("five"))
    assert world.time.sleeps == [pytest.approx(3.0)], "groups: 20 a minute"


async def test_updates_that_are_not_commands_are_ignored(world: TelegramWorld) -> None:
    tg = world.tg
    edited = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "/help"}
    post = {"message_id": 2, "date": 0, "chat": {"id": -5, "type": "channel"}, "text": "/help"}
    sticker = {
        "message_id": 3,
        "date": 0,
        "chat": {"id": 1, "type": "private"},
        "from": {"id": 1, "is_bot": False, "first_name": "Olga"},
    }
    for update in ({"edited_message": {**edited, "edit_date": 1}}, {"channel_post": post}):
        await world.adapter.handled(await tg.push(update))
    await world.adapter.handled(await tg.push({"message": sticker}))
    await world.write(OWNER, "just chatting in the group", chat_id=GROUP)
    assert tg.sent("sendMessage") == []
    await world.write(OPERATOR, "whoami")  # private chats need no slash
    assert tg.texts(OPERATOR)[0].startswith("You are tg:3")


async def test_a_button_we_no_longer_know_is_answered_and_ignored(world: TelegramWorld) -> None:
    tg = world.tg
    await world.adapter.deliver(str(ADMIN), Outgoing("old alert", buttons=(Button("Go", "/x"),)))
    [alert] = tg.sent("sendMessage", ADMIN)
    query = {
        "id": "q-old",
        "from": {"id": ADMIN, "is_bot": False, "first_name": "Ann", "language_code": "es"},
        "chat_instance": "ci",
        "data": "k:forgotten-after-restart",
        "message": alert.result,
    }
    await world.adapter.handled(await tg.push({"callback_query": query}))
    [answer] = tg.sent("answerCallbackQuery")
    assert answer.params["text"] == t("es", "telegram.button_expired")
    assert len(tg.sent("sendMessage")) == 1


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


def test_private_chat_of() -> None:
    mine = CommandRequest("start", (), "/start", "tg:7", PLATFORM, "7")
    assert private_chat_of(mine) == "tg:7"
    assert private_chat_of(CommandRequest("start", (), "/start", "tg:7", PLATFORM, "-100")) is None
    assert private_chat_of(CommandRequest("start", (), "/start", "slack:U", "slack", "U")) is None


async def test_contacts_data_asked_for_in_a_group_goes_to_the_private_chat(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    await world.write(ADMIN, "/peek", chat_id=GROUP)

    assert tg.texts(GROUP) == [t("en", "private.sent", command="/peek")]
    assert not any("hola" in text for text in tg.group_sends())
    assert [c.method for c in tg.sent(chat_id=ADMIN)] == [
        "sendChatAction",
        "sendPhoto",
        "sendDocument",
        "sendMessage",
    ]
    assert tg.texts(ADMIN)[-1] == CONTACT_TEXT

    await world.write(ADMIN, "/peek")  # in the private chat already: no pointer
    assert tg.texts(ADMIN)[-1] == CONTACT_TEXT
    assert len(tg.texts(GROUP)) == 1


async def test_contacts_data_is_refused_in_a_group_when_the_bot_cannot_write_privately(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    await world.write(NEWCOMER, "/peek", chat_id=GROUP)

    hint = t("en", "private.unreachable", command="/peek", hint="@waops_test_bot")
    assert tg.texts(GROUP) == [hint]
    assert [c.status for c in tg.calls if c.method == "sendChatAction"] == [403]
    assert tg.sent(chat_id=NEWCOMER) == []
    assert not any("hola" in text for text in tg.group_sends())

    await world.write(NEWCOMER, "/start")  # now Telegram lets the bot write to them
    await world.write(NEWCOMER, "/peek", chat_id=GROUP)
    assert tg.texts(NEWCOMER)[-1] == CONTACT_TEXT


async def test_a_file_is_fetched_only_once_its_sender_may_run_the_command(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    csv = b"phone\n5491112345678\n"
    for user in (STRANGER, VIEWER):
        await world.adapter.handled(await tg.upload(user, "leads.csv", csv, caption="/import haby"))
    assert [c.method for c in tg.calls if c.method in _FETCHES] == [], "nothing fetched"
    assert tg.texts(STRANGER) == [t("en", "denied.unknown_user", actor="tg:999")]
    assert tg.texts(VIEWER) == [t("en", "denied.role", command="import", role="operator")]
    entries = list(reversed(await AuditRepo(world.db).recent(10)))
    assert [(e.actor, e.command, e.result) for e in entries] == [
        ("tg:999", "import", AuditResult.DENIED),
        ("tg:5", "import", AuditResult.DENIED),
    ]

    await world.adapter.handled(await tg.upload(OWNER, "leads.csv", csv, caption="/import haby"))
    assert [c.method for c in tg.calls if c.method in _FETCHES] == ["getFile", "download"]


async def test_a_file_over_the_bot_api_limit_is_refused_saying_so_and_never_fetched(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    big = b"x" * (MAX_DOCUMENT_BYTES + 1)
    await world.adapter.handled(await tg.upload(ADMIN, "big.csv", big, caption="/import haby"))
    assert tg.texts(ADMIN) == [t("en", "limits.file_too_big", mb="20")]
    assert "over 20 MB" in tg.texts(ADMIN)[0]
    assert [c.method for c in tg.calls if c.method in _FETCHES] == []
