"""Strangers cannot delay operators: through real PTB and the fake Bot API (issue 13)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest

from bot.commands.strangers import STRANGER_REFUSAL_BURST, STRANGER_REFUSALS_PER_S
from bot.texts import t
from storage.db import Database
from storage.records import AuditResult
from storage.repos import AuditRepo
from tests.bot.telegram.world import OWNER, STRANGER, TelegramWorld, build, seed
from tests.support.fakes.telegram_server import FakeTelegram

STRANGERS = range(5000, 5090)
"""Ninety people who are not operators: three seconds of Telegram's bot-wide ~30 messages/s."""


@pytest.fixture
async def world(db: Database, caplog: pytest.LogCaptureFixture) -> AsyncIterator[TelegramWorld]:
    await seed(db)
    async with FakeTelegram() as tg:
        world = build(db, tg)
        async with world.adapter:
            yield world
        tg.assert_no_unexpected()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_an_operator_is_answered_ahead_of_a_crowd_of_strangers(
    world: TelegramWorld,
) -> None:
    tg = world.tg
    pushed = time.monotonic()
    updates = [await tg.write(user, "/help") for user in STRANGERS]
    await world.write(OWNER, "/whoami")
    elapsed_s = time.monotonic() - pushed
    for update_id in updates:
        await world.adapter.handled(update_id)

    answer = next(i for i, c in enumerate(tg.calls) if c.chat_id == str(OWNER))
    ahead = [c for c in tg.calls[:answer] if c.method == "sendMessage"]
    # Before, every stranger's refusal went first, at the bot-wide 30/s: 3 s and 90 messages.
    budget = STRANGER_REFUSAL_BURST + elapsed_s * STRANGER_REFUSALS_PER_S
    assert len(ahead) <= budget, f"{len(ahead)} refusals went out before the operator's answer"
    assert elapsed_s < 2.0
    [whoami] = tg.texts(OWNER)
    assert "tg:1" in whoami and "owner" in whoami

    refused = [u for u in STRANGERS if tg.texts(u)]
    assert 1 <= len(refused) <= budget + 1
    for user in refused:
        assert tg.texts(user) == [t("en", "denied.unknown_user", actor=f"tg:{user}")]
    entries = await AuditRepo(world.db).recent(500)
    strangers = [e for e in entries if e.actor != f"tg:{OWNER}"]
    assert len(strangers) == len(STRANGERS), "every stranger is audited, once"


async def test_a_stranger_who_repeats_is_refused_once_and_audited_once(
    world: TelegramWorld,
) -> None:
    for text in ("/start", "/help", "/operators", "/whoami"):
        await world.write(STRANGER, text, language="es")

    assert world.tg.texts(STRANGER) == [t("es", "denied.unknown_user", actor="tg:999")]
    [entry] = await AuditRepo(world.db).recent(10)
    assert (entry.actor, entry.command, entry.result) == ("tg:999", "start", AuditResult.DENIED)
