"""Fixtures of the Telegram adapter tests: real PTB, the real dispatcher and database, the fake
Bot API on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from tests.bot.telegram.world import TelegramWorld, build, seed
from tests.support.fakes.telegram_server import FakeTelegram


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns on every RetryAfter unless told to use timedelta already; warnings are errors.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram().checked() as fake:
        yield fake


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
