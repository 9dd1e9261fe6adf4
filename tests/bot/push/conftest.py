"""A world for alert tests: a real database, two clients, operators of each role, the router
with a recording Telegram and Slack channel, the alert rules on a real event bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.admin_channels import AdminChannels
from bot.push.alert_rules import AlertRules
from bot.push.alerts import AlertPolicy, Alerts
from engine.events import EventBus, SessionRef, SessionStateChanged
from storage.db import Database
from storage.records import Role, SessionState, WaSession
from storage.repos import ClientRepo, OperatorRepo, SessionRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from tests.bot.push.fakes import RecordingChannel
from tests.support.clocks import ManualClock

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OWNER = "tg:1"  # every client, Spanish
ADMIN_HABY = "slack:UA"  # admin of haby only, English; Slack needs no /start
OPERATOR_HABY = "tg:3"  # operator of haby: only what they subscribe to
VIEWER = "tg:4"
OWNER_NO_START = "tg:5"  # an owner who never said /start: unreachable


@dataclass
class AlertWorld:
    db: Database
    clock: ManualClock
    bus: EventBus
    router: AdminChannels
    telegram: RecordingChannel
    slack: RecordingChannel
    alerts: Alerts
    rules: AlertRules
    subscriptions: AlertSubscriptionRepo
    main: WaSession
    haby_id: int
    marketing_id: int

    @property
    def ref(self) -> SessionRef:
        return SessionRef(self.main.id, self.main.client_id, "haby", "main")

    async def state(self, old: SessionState, new: SessionState, reason: str | None = None) -> None:
        await self.bus.publish(SessionStateChanged(self.ref, old, new, reason, self.clock.now()))

    async def drop(self) -> None:
        await self.state(SessionState.CONNECTED, SessionState.DISCONNECTED, "connection lost")

    async def restore(self) -> None:
        await self.state(SessionState.DISCONNECTED, SessionState.CONNECTED)

    async def wait(self, seconds: float) -> None:
        """Let `seconds` pass: timers due fire, and the outbox delivers what they raised."""
        self.clock.advance(seconds)
        await self.rules.run_until_idle()
        await self.router.run_until_idle()

    def texts(self, chat: str) -> list[str]:
        channel = self.slack if chat.startswith("slack:") else self.telegram
        return channel.texts(chat.partition(":")[2])


async def make_world(db: Database, clock: ManualClock | None = None) -> AlertWorld:
    clock = clock or ManualClock(START)
    clients = ClientRepo(db)
    haby = await clients.add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    marketing = await clients.add("marketing", "Marketing", "AR", "America/Argentina/Buenos_Aires")
    main = await SessionRepo(db).add(haby.id, "main")
    operators = OperatorRepo(db)
    await operators.add(OWNER, Role.OWNER, language="es")
    await operators.add(ADMIN_HABY, Role.ADMIN, ["haby"], language="en")
    await operators.add(OPERATOR_HABY, Role.OPERATOR, ["haby"])
    await operators.add(VIEWER, Role.VIEWER)
    await operators.add(OWNER_NO_START, Role.OWNER)
    subscriptions = AlertSubscriptionRepo(db)
    for chat in (OWNER, OPERATOR_HABY, VIEWER):
        await subscriptions.set_reachable(chat)
    telegram = RecordingChannel(clock)
    slack = RecordingChannel(clock, prefix="slack", text_limit=3000)
    router = AdminChannels(db, [telegram, slack], clock=clock)
    alerts = Alerts(db, router, AlertPolicy(grace_s=60, repeat_s=1800), clock)
    bus = EventBus()
    rules = AlertRules(db, bus, alerts, clock)
    await rules.start()
    return AlertWorld(
        db,
        clock,
        bus,
        router,
        telegram,
        slack,
        alerts,
        rules,
        subscriptions,
        main,
        haby.id,
        marketing.id,
    )


@pytest.fixture
async def world(db: Database) -> AsyncIterator[AlertWorld]:
    built = await make_world(db)
    yield built
    await built.rules.stop()
