"""The whole App for end-to-end tests: real Chromium on the simulator, the real PTB against
the fake Bot API, and real slack-bolt behind signed HTTP requests with the fake Web API."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import App
from engine.directory import Directory
from engine.events import MessageStored
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database
from storage.migrate import upgrade
from tests.bot.slack.requests import SignedSender
from tests.support.app_settings import telegram_app_settings
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.telegram_server import FakeTelegram
from tests.support.platforms import platforms
from tests.support.poll import poll_until
from tests.support.sim_world import POLICY
from tests.support.waops_process import free_port

TG_OPERATOR, TG_VIEWER, TG_OTHER, TG_OWNER = 100, 200, 300, 400
SLACK_OPERATOR = "U1"
SECRET = "signing-secret"
CSV = "telefono,nombre\n+5491150000001,Ana\n+5491150000002,Beto\nhola,X\n"


@dataclass
class Stack:
    app: App
    tg: FakeTelegram
    slack: FakeSlack
    sim: SimulatorClient
    signed: SignedSender
    simulator: Simulator
    stored: list[MessageStored]

    async def until(self, check: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
        """Several fakes, no single event to wait on: look every 50 ms."""
        await poll_until(check, what, timeout_s, every_s=0.05)

    def tg_texts(self, user: int) -> list[str]:
        return self.tg.texts(user)

    async def tg_say(self, user: int, text: str, expect: str) -> str:
        """A Telegram user writes; wait for a reply containing `expect` and return it."""
        before = len(self.tg_texts(user))
        await self.tg.write(user, text)
        await self.until(
            lambda: any(expect in t for t in self.tg_texts(user)[before:]),
            f"{expect!r} after {text!r}",
        )
        return next(t for t in self.tg_texts(user)[before:] if expect in t)

    def slack_texts(self) -> list[str]:
        return [m.section_text or m.text for m in self.slack.in_channel("C1")]


async def make_stack(
    tmp_path: Path, sqlite_template: Path, **overrides: Any
) -> AsyncIterator[Stack]:
    """Yield a running App wired to the simulator and both fakes; `overrides` go to settings."""
    shutil.copy(sqlite_template, tmp_path / "app.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    async with Database(url) as db:
        await upgrade(db)
        directory = Directory(db)
        await directory.add_client("haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires")
        await directory.add_client(
            "marketing", "Marketing Sur", "AR", "America/Argentina/Buenos_Aires"
        )
        await directory.add_session("haby", "main")
        await directory.add_session("haby", "ventas")
        await directory.add_operator(f"tg:{TG_OPERATOR}", "operator", ["haby"], language="en")
        await directory.add_operator(f"tg:{TG_VIEWER}", "viewer", ["haby"], language="en")
        await directory.add_operator(f"tg:{TG_OTHER}", "operator", ["marketing"], language="en")
        await directory.add_operator(f"slack:{SLACK_OPERATOR}", "operator", ["haby"], language="en")
        await directory.add_operator(f"tg:{TG_OWNER}", "owner", language="en")
    port = free_port()
    async with platforms() as up:
        simulator, sim, tg, slack = up.simulator, up.sim, up.tg, up.slack
        settings = telegram_app_settings(
            url,
            tmp_path / "data",
            tg,
            whatsapp_url=simulator.whatsapp_url,
            wa_js_path=simulator.wa_js_path,
            send_gap_s="0",
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            slack_http_port=port,
            slack_app_token=None,
            **overrides,
        )
        async with App(settings, session_policy=POLICY) as app:
            assert app.slack is not None
            signed = SignedSender(f"http://127.0.0.1:{port}/slack/events", SECRET, up.http, slack)
            stored: list[MessageStored] = []

            async def record(event: MessageStored) -> None:
                stored.append(event)

            app.bus.subscribe(MessageStored, record)
            yield Stack(app, tg, slack, sim, signed, simulator, stored)
        tg.assert_no_unexpected()
        slack.assert_no_unexpected()
