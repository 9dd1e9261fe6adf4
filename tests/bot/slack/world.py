"""The Slack adapter's test world: who is who, the channels of the fake workspace, and the
adapter in HTTP mode on 127.0.0.1 (the fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.commands.dispatcher import Dispatcher
from bot.slack.adapter import SlackAdapter
from engine.clock import Clock
from storage.db import Database
from storage.records import AuditEntry, Role
from storage.repos import AuditRepo, OperatorRepo
from tests.support.fakes.slack_server import FakeSlack, Message

SECRET = "signing-secret-for-tests"
OWNER, ADMIN, VIEWER, STRANGER = "UOWNER", "UADMIN", "UVIEWER", "USTRANGER"
# Channels the bot was invited to, with ids of Slack's shape (files need one: bolt-js#2115).
ALERTS, DIGESTS, UPLOADS = "C0ALERTS09", "C0DIGEST02", "C0UPLOADS5"


def http_adapter(
    fake: FakeSlack,
    dispatcher: Dispatcher,
    *,
    signing_secret: str = SECRET,
    clock: Clock | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SlackAdapter:
    """The adapter in HTTP mode on an ephemeral port of 127.0.0.1, talking to `fake`."""
    return SlackAdapter(
        fake.bot_token,
        dispatcher,
        signing_secret=signing_secret,
        api_url=fake.api_url,
        http_host="127.0.0.1",
        http_port=0,
        language="en",
        clock=clock,
        sleep=sleep,
    )


def socket_adapter(fake: FakeSlack, dispatcher: Dispatcher, **options: Any) -> SlackAdapter:
    """The adapter in Socket Mode, talking to `fake` (`options` as SlackAdapter takes them)."""
    return SlackAdapter(
        fake.bot_token, dispatcher, app_token=fake.app_token, api_url=fake.api_url, **options
    )


async def add_viewers(db: Database, count: int) -> None:
    """`count` more viewers: enough operators that /operators answers at length."""
    operators = OperatorRepo(db)
    for n in range(count):
        await operators.add(f"slack:U{n:08d}", Role.VIEWER)


async def audit_log(db: Database) -> list[AuditEntry]:
    return list(reversed(await AuditRepo(db).recent(100)))


def only(messages: list[Message]) -> Message:
    assert len(messages) == 1, [m.text for m in messages]
    return messages[0]
