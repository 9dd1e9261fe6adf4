"""Contacts' data stays with the operator who asked, end to end: real commands typed in a
Telegram group and in a Slack channel, the whole App on the simulator, both fakes recording
where every message went."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.texts import t
from storage.records import SessionState
from tests.bot.e2e_stack import SLACK_OPERATOR, TG_OPERATOR, TG_VIEWER, Stack, make_stack
from tests.support.sim_world import decode_png

pytestmark = pytest.mark.browser

GROUP = -100777
CONTACT, WORDS = "5491150000001", "hola, tienen envíos a Lanús?"


@pytest.fixture
async def stack(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Stack]:
    async for built in make_stack(tmp_path, sqlite_template):
        yield built


async def _a_conversation(stack: Stack) -> None:
    await stack.app.sessions.pair("haby", "main")
    await stack.sim.scan("haby-main", "5491100000001")
    session = await stack.app.sessions.get("haby", "main")
    await stack.app.sessions.wait_for_state(session.id, {SessionState.CONNECTED}, 20)
    await stack.sim.inbound("haby-main", CONTACT, WORDS)
    await stack.until(lambda: len(stack.stored) == 1, "the inbound message stored")


async def test_a_telegram_group_sees_pointers_not_conversations(stack: Stack) -> None:
    await _a_conversation(stack)
    await stack.tg_say(TG_OPERATOR, "/whoami", "tg:100")  # they opened the bot before

    await stack.tg.write(TG_OPERATOR, f"/conv haby {CONTACT}", chat_id=GROUP)
    await stack.until(lambda: any(WORDS in t for t in stack.tg_texts(TG_OPERATOR)), "the chat")
    await stack.tg.write(TG_OPERATOR, "/pair haby ventas", chat_id=GROUP)
    await stack.until(lambda: bool(stack.tg.sent("sendPhoto", TG_OPERATOR)), "the QR, privately")
    [(_name, png)] = stack.tg.sent("sendPhoto", TG_OPERATOR)[0].files.values()
    assert decode_png(png) == (await stack.sim.session("haby-ventas"))["auth_code"]
    await stack.tg.write(TG_VIEWER, "/chats haby", chat_id=GROUP)  # never wrote to the bot
    await stack.until(lambda: any("Start" in t for t in stack.tg.texts(GROUP)), "the hint")

    group = stack.tg.group_sends()
    assert not any(WORDS in text or CONTACT in text for text in group), group
    assert stack.tg.sent("sendPhoto", GROUP) == [] and stack.tg.sent("sendDocument", GROUP) == []
    pointers = [t("en", "private.sent", command=c) for c in ("/conv", "/pair")]
    hint = t("en", "private.unreachable", command="/chats", hint="@waops_test_bot")
    assert stack.tg.texts(GROUP) == [*pointers, hint]


async def test_a_slack_channel_sees_nothing_of_a_conversation(stack: Stack) -> None:
    await _a_conversation(stack)

    assert await stack.signed.command(SLACK_OPERATOR, "chats haby") == 200
    await stack.until(lambda: any(WORDS in t for t in stack.slack_texts()), "the chats list")
    assert await stack.signed.command(SLACK_OPERATOR, f"conv haby {CONTACT} 200") == 200
    assert await stack.signed.command(SLACK_OPERATOR, "pair haby ventas") == 200
    where = stack.slack.where_shown
    await stack.until(lambda: any(where(u.file_id) for u in stack.slack.uploads), "the QR shown")
    await stack.until(lambda: sum(WORDS in t for t in stack.slack_texts()) >= 2, "the conversation")

    dm = stack.slack.dm_of(SLACK_OPERATOR)
    assert dm is not None
    assert [where(upload.file_id) for upload in stack.slack.uploads] == [{dm}]
    shown = [m for m in stack.slack.messages if m.channel == "C1"]
    assert shown and all(m.ephemeral_to == SLACK_OPERATOR for m in shown)
    assert not any(WORDS in text or CONTACT in text for text in stack.slack.shared_texts())
