"""Contacts' data and files on Telegram: private output goes to the private chat, never a
group, and a document is fetched only when its sender may use it."""

from __future__ import annotations

from bot.commands.base import CommandRequest
from bot.telegram.adapter import PLATFORM, private_chat_of
from bot.telegram.updates import MAX_DOCUMENT_BYTES
from bot.texts import t
from storage.records import AuditResult
from storage.repos import AuditRepo
from tests.bot.peek import CONTACT_TEXT
from tests.bot.telegram.world import (
    ADMIN,
    FETCHES,
    GROUP,
    NEWCOMER,
    OWNER,
    STRANGER,
    VIEWER,
    TelegramWorld,
)


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
    assert [c.method for c in tg.calls if c.method in FETCHES] == [], "nothing fetched"
    assert tg.texts(STRANGER) == [t("en", "denied.unknown_user", actor="tg:999")]
    assert tg.texts(VIEWER) == [t("en", "denied.role", command="import", role="operator")]
    entries = list(reversed(await AuditRepo(world.db).recent(10)))
    assert [(e.actor, e.command, e.result) for e in entries] == [
        ("tg:999", "import", AuditResult.DENIED),
        ("tg:5", "import", AuditResult.DENIED),
    ]

    await world.adapter.handled(await tg.upload(OWNER, "leads.csv", csv, caption="/import haby"))
    assert [c.method for c in tg.calls if c.method in FETCHES] == ["getFile", "download"]


async def test_a_file_over_the_bot_api_limit_is_refused_saying_so_and_never_fetched(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    big = b"x" * (MAX_DOCUMENT_BYTES + 1)
    await world.adapter.handled(await tg.upload(ADMIN, "big.csv", big, caption="/import haby"))
    assert tg.texts(ADMIN) == [t("en", "limits.file_too_big", mb="20")]
    assert "over 20 MB" in tg.texts(ADMIN)[0]
    assert [c.method for c in tg.calls if c.method in FETCHES] == []
