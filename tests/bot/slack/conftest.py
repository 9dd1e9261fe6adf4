"""Fixtures of the Slack adapter tests: real slack-bolt and slack_sdk, a fake Slack Web API on
127.0.0.1, the real dispatcher over the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.commands.assembly import build_registry
from bot.commands.dispatcher import Dispatcher
from bot.commands.prospects import ProspectCommands
from bot.slack.adapter import SlackAdapter
from engine.directory import Directory
from storage.db import Database
from storage.records import Role
from storage.repos import AuditRepo, OperatorRepo
from tests.bot.peek import PEEK
from tests.bot.slack.requests import SignedSender
from tests.bot.slack.world import (
    ADMIN,
    ALERTS,
    DIGESTS,
    OWNER,
    SECRET,
    UPLOADS,
    VIEWER,
    http_adapter,
)
from tests.support.clocks import ManualClock, SteppingClock
from tests.support.fakes.slack_server import FakeSlack


@pytest.fixture
async def dispatcher(db: Database) -> Dispatcher:
    operators = OperatorRepo(db)
    await operators.add(f"slack:{OWNER}", Role.OWNER, display_name="Olga")
    await operators.add(f"slack:{ADMIN}", Role.ADMIN)
    await operators.add(f"slack:{VIEWER}", Role.VIEWER)
    audit = AuditRepo(db)
    registry = build_registry(Directory(db), audit)
    registry.extend(ProspectCommands(db).commands())
    registry.add(PEEK)
    return Dispatcher(registry, operators, audit, default_language="en", clock=ManualClock())


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack().checked() as server:
        for channel in (ALERTS, DIGESTS, UPLOADS, "C2", "C3", "C4"):
            server.add_channel(channel, everyone=True)
        yield server


@pytest.fixture
def pace() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def adapter(
    fake: FakeSlack, dispatcher: Dispatcher, pace: SteppingClock
) -> AsyncIterator[SlackAdapter]:
    """HTTP mode on an ephemeral port of 127.0.0.1."""
    slack = http_adapter(fake, dispatcher, clock=pace, sleep=pace.sleep)
    async with slack:
        yield slack


@pytest.fixture
async def slack(adapter: SlackAdapter, fake: FakeSlack) -> AsyncIterator[SignedSender]:
    async with aiohttp.ClientSession() as session:
        yield SignedSender(adapter.http_url, SECRET, session, fake)
