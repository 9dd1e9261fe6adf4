"""Chat-ops end to end: the whole App with real Chromium on the simulator, the real PTB against
the fake Bot API, and real slack-bolt behind signed HTTP requests with the fake Web API."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.app import App
from engine.directory import Directory
from engine.events import MessageStored
from engine.settings import load_settings
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database
from storage.migrate import upgrade
from storage.repos import CampaignRepo
from tests.bot.slack_requests import SignedSender, dm_event
from tests.engine.sim_world import POLICY, decode_png
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import TOKEN, FakeTelegram

pytestmark = pytest.mark.browser

TG_OPERATOR, TG_VIEWER, TG_OTHER = 100, 200, 300
SLACK_OPERATOR = "U1"
SECRET = "signing-secret"
CSV = "telefono,nombre\n+5491150000001,Ana\n+5491150000002,Beto\nhola,X\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        try:
            async with asyncio.timeout(timeout_s):
                while not check():  # noqa: ASYNC110 - several fakes, no single event to wait on
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

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


@pytest.fixture
async def stack(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Stack]:
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
    port = _free_port()
    async with (
        Simulator(qr_rotate_s=60) as simulator,
        SimulatorClient(simulator.base_url) as sim,
        FakeTelegram() as tg,
        FakeSlack() as slack,
        aiohttp.ClientSession() as http,
    ):
        settings = load_settings(
            database_url=url,
            data_dir=tmp_path / "data",
            whatsapp_url=simulator.whatsapp_url,
            wa_js_path=simulator.wa_js_path,
            send_gap_s="0",
            send_window="always",
            health_port=0,
            openai_api_key=None,
            openai_base_url=None,
            language="en",
            telegram_token=TOKEN,
            telegram_api_url=tg.base_url,
            telegram_file_url=tg.base_file_url,
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            slack_http_port=port,
            slack_app_token=None,
        )
        async with App(settings, session_policy=POLICY) as app:
            assert app.slack is not None
            signed = SignedSender(f"http://127.0.0.1:{port}/slack/events", SECRET, http)
            stored: list[MessageStored] = []

            async def record(event: MessageStored) -> None:
                stored.append(event)

            app.bus.subscribe(MessageStored, record)
            yield Stack(app, tg, slack, sim, signed, simulator, stored)
        tg.assert_no_unexpected()
        slack.assert_no_unexpected()


async def test_an_operator_day_through_telegram(stack: Stack) -> None:
    listing = await stack.tg_say(TG_OPERATOR, "/sessions", "WhatsApp sessions")
    assert "haby/main" in listing and "marketing" not in listing

    await stack.tg.write(TG_OPERATOR, "/pair haby main")
    await stack.until(lambda: bool(stack.tg.sent("sendPhoto", TG_OPERATOR)), "the QR photo")
    photo = stack.tg.sent("sendPhoto", TG_OPERATOR)[0]
    [(_name, png)] = photo.files.values()
    assert decode_png(png) == (await stack.sim.session("haby-main"))["auth_code"]
    await stack.sim.scan("haby-main", "5491100000001")
    await stack.until(
        lambda: any("linked and connected" in t for t in stack.tg_texts(TG_OPERATOR)), "connected"
    )

    assert "AI replies are on for haby" in await stack.tg_say(
        TG_OPERATOR, "/ai haby on", "AI replies"
    )
    await stack.tg.upload(TG_OPERATOR, "lista.csv", CSV.encode(), caption="/import haby feria")
    report = "3 rows: 2 added"
    await stack.until(
        lambda: any(report in t for t in stack.tg_texts(TG_OPERATOR)), "the import report"
    )
    assert any("not a phone number" in t for t in stack.tg_texts(TG_OPERATOR))

    await stack.sim.inbound("haby-main", "5491150000001", "hola, tienen envíos?")
    await stack.until(lambda: len(stack.stored) == 1, "the inbound message stored")
    conv = await stack.tg_say(TG_OPERATOR, "/conv haby 5491150000001", "hola, tienen envíos?")
    assert "[contact]" in conv

    created = await stack.tg_say(
        TG_OPERATOR, "/campaign new haby main feria Hola {name}!", "created"
    )
    campaign_id = int(re.search(r"#(\d+)", created).group(1))  # type: ignore[union-attr]
    assert "operator" in await stack.tg_say(TG_VIEWER, f"/campaign launch {campaign_id}", "role")
    await stack.tg.write(TG_OPERATOR, f"/campaign launch {campaign_id}")
    await stack.until(
        lambda: any(c.buttons for c in stack.tg.sent("sendMessage", TG_OPERATOR)), "confirm buttons"
    )
    proposal = next(c for c in stack.tg.sent("sendMessage", TG_OPERATOR) if c.buttons)
    assert "to 2 recipients" in str(proposal.params["text"])
    await stack.tg.press(TG_VIEWER, proposal, "Confirm")  # someone else's press does nothing
    await stack.tg.press(TG_OPERATOR, proposal, "Confirm")
    await stack.until(
        lambda: len(_campaign_sends(stack)) == 2, "the campaign messages", timeout_s=30
    )
    assert sorted(_campaign_sends(stack)) == ["Hola Ana!", "Hola Beto!"]
    counts = await CampaignRepo(stack.app.db).counts(campaign_id)
    assert counts.get("sent", 0) + counts.get("delivered", 0) == 2

    denied = await stack.tg_say(TG_OTHER, "/conv haby 5491150000001", "access")
    assert "hola" not in denied
    assert len(await stack.sim.sent("haby-main")) == 2, "the viewer's press sent nothing more"


async def test_slack_pairs_answers_and_imports(stack: Stack) -> None:
    assert await stack.signed.command(SLACK_OPERATOR, "sessions") == 200
    await stack.until(
        lambda: any("haby/ventas" in t for t in stack.slack_texts()), "the sessions list"
    )

    assert await stack.signed.command(SLACK_OPERATOR, "pair haby ventas") == 200
    await stack.until(lambda: bool(stack.slack.uploads), "the QR upload")
    assert (
        decode_png(stack.slack.uploads[0].data)
        == (await stack.sim.session("haby-ventas"))["auth_code"]
    )
    await stack.sim.scan("haby-ventas", "5491100000002")
    await stack.until(
        lambda: any("linked and connected" in t for t in stack.slack_texts()), "connected"
    )

    assert await stack.signed.command(SLACK_OPERATOR, "ai haby on") == 200
    await stack.until(lambda: any("AI replies are on" in t for t in stack.slack_texts()), "ai on")

    shared = stack.slack.share_file("lista.csv", CSV.encode())
    assert (
        await stack.signed.event(
            dm_event(SLACK_OPERATOR, "/waops import haby slack", "D1", [shared])
        )
        == 200
    )
    await stack.until(
        lambda: any("2 added" in m.section_text for m in stack.slack.in_channel("D1")),
        "the import report",
    )
    assert await stack.signed.command("U999", "sessions") == 200
    await stack.until(lambda: any("not allowed" in t for t in stack.slack_texts()), "one refusal")


def _campaign_sends(stack: Stack) -> list[str]:
    """What haby/main sent that starts like the campaign's text."""
    phone = stack.simulator.state.phones.get("haby-main")
    return [] if phone is None else [r.body for r in phone.sent if r.body.startswith("Hola ")]
