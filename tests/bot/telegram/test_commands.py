"""Telegram chat-ops commands end to end: languages, who may run what, confirmations, buttons
and the updates that are not commands (fixtures in conftest.py)."""

from __future__ import annotations

from bot.push.channel import Button, Outgoing
from bot.texts import t
from storage.records import Role
from tests.bot.telegram.world import (
    ADMIN,
    GROUP,
    OPERATOR,
    OWNER,
    STRANGER,
    VIEWER,
    TelegramWorld,
)


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


async def test_a_button_pressed_by_a_stranger_is_refused_and_stays(world: TelegramWorld) -> None:
    tg = world.tg
    await world.adapter.deliver(str(GROUP), Outgoing("alert", buttons=(Button("Who", "/whoami"),)))
    [alert] = tg.sent("sendMessage", GROUP)
    await world.adapter.handled(await tg.press(STRANGER, alert, "Who", language="es"))
    assert tg.texts(GROUP)[-1] == t("es", "denied.unknown_user", actor="tg:999")
    assert tg.buttons_of(GROUP, alert.message_id) is not None


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
