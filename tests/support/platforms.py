"""The simulator and the fake chat platforms a whole-app test runs against: WhatsApp (the
simulator and its control client), Telegram's Bot API, Slack's Web API, and an HTTP session
for signed Slack requests and health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.telegram_server import FakeTelegram


@dataclass
class Platforms:
    simulator: Simulator
    sim: SimulatorClient
    tg: FakeTelegram
    slack: FakeSlack
    http: aiohttp.ClientSession


@asynccontextmanager
async def platforms() -> AsyncIterator[Platforms]:
    """All of them up, closed in reverse on the way out."""
    async with (
        Simulator(qr_rotate_s=60) as simulator,
        SimulatorClient(simulator.base_url) as sim,
        FakeTelegram() as tg,
        FakeSlack() as slack,
        aiohttp.ClientSession() as http,
    ):
        yield Platforms(simulator, sim, tg, slack, http)
