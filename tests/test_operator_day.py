"""An operator's day against `waops run` as a separate process: the simulator, the fake
Telegram, Slack and OpenAI servers, and nothing else. Pair two numbers, turn AI on for one
client, receive and answer messages, launch a small campaign, see a disconnect alert and its
resolution, read a digest, and stop with SIGTERM."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from engine.directory import Directory
from engine.whatsapp.simulator.client import SimulatorClient
from storage.db import Database, NotFound
from storage.records import ContactInput
from storage.repos import ContactRepo, MessageRepo
from tests.bot.slack.requests import SignedSender
from tests.support.fakes.openai_server import FakeOpenAI, Reply
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.telegram_server import FakeTelegram
from tests.support.mariadb import own_database
from tests.support.platforms import platforms
from tests.support.poll import poll_until
from tests.support.sim_world import decode_png
from tests.support.waops_process import free_port, stop_waops, waops_env, waops_running

pytestmark = pytest.mark.browser

OWNER = 400  # Telegram user id of the owner
SLACK_USER = "U1"
SECRET = "signing-secret"
ANA, BETO, CARLA = "5491150000001", "5491150000002", "5491150000003"


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A migrated, empty database of its own: the other process writes to it."""
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp_path / "waops.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'waops.db'}"
        return
    async with own_database("day") as url:
        yield url


async def test_an_operator_day(tmp_path: Path, database_url: str) -> None:
    url = database_url
    async with Database(url) as db:
        directory = Directory(db)
        haby = await directory.add_client(
            "haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires"
        )
        await directory.add_client(
            "marketing", "Marketing Sur", "AR", "America/Argentina/Buenos_Aires"
        )
        await directory.add_session("haby", "main")
        await directory.add_session("marketing", "main")
        await directory.add_operator(f"tg:{OWNER}", "owner", language="en")
        await directory.add_operator(
            f"slack:{SLACK_USER}", "operator", ["marketing"], language="en"
        )
        await ContactRepo(db).upsert_many(
            haby.id, [ContactInput(ANA, "Ana", ("feria",)), ContactInput(BETO, "Beto", ("feria",))]
        )

    slack_port = free_port()
    async with platforms() as up, FakeOpenAI(separate_classifications=True) as model:
        simulator, sim, tg, slack, http = up.simulator, up.sim, up.tg, up.slack, up.http
        env = waops_env(
            url,
            tmp_path / "data",
            simulator,
            tg,
            free_port(),
            {
                "WAOPS_OPENAI_API_KEY": "test-key",
                "WAOPS_OPENAI_BASE_URL": model.base_url,
                "WAOPS_SLACK_BOT_TOKEN": "xoxb-test",
                "WAOPS_SLACK_SIGNING_SECRET": SECRET,
                "WAOPS_SLACK_API_URL": slack.api_url,
                "WAOPS_SLACK_HTTP_PORT": str(slack_port),
                "WAOPS_SEND_GAP_S": "0.2",
            },
        )
        log_path = tmp_path / "waops.log"
        async with waops_running(env, tmp_path, log_path) as process:
            await poll_until(lambda: "waops started" in log_path.read_text(), "waops to start", 60)
            await _day(tg, slack, sim, model, http, env, slack_port)
            code = await stop_waops(process)
        output = log_path.read_text()
        assert code == 0, output[-3000:]
        assert "waops stopped" in output
        assert "Traceback" not in output, output[-3000:]
        tg.assert_no_unexpected()
        slack.assert_no_unexpected()
        model.assert_no_unexpected()

    async with Database(url) as db:
        contact = await ContactRepo(db).get(haby.id, CARLA)
        origins = [m.origin.value for m in reversed(await MessageRepo(db).conversation(contact.id))]
        assert origins == ["contact", "ai"]


async def _day(
    tg: FakeTelegram,
    slack: FakeSlack,
    sim: SimulatorClient,
    model: FakeOpenAI,
    http: aiohttp.ClientSession,
    env: dict[str, str],
    slack_port: int,
) -> None:
    def said(needle: str) -> bool:
        return any(needle in text for text in tg.texts(OWNER))

    def slack_said(needle: str) -> bool:
        return any(needle in (m.section_text or m.text) for m in slack.in_channel("C1"))

    async def health() -> bool:
        try:
            async with http.get(f"http://127.0.0.1:{env['WAOPS_HEALTH_PORT']}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    assert await health()
    await tg.write(OWNER, "/start")
    await poll_until(lambda: said("alerts"), "the /start answer", 30)

    # Pair two numbers: haby from Telegram, marketing from Slack.
    await tg.write(OWNER, "/pair haby main")
    await poll_until(lambda: bool(tg.sent("sendPhoto", OWNER)), "the QR photo", 30)
    [(_name, png)] = tg.sent("sendPhoto", OWNER)[0].files.values()
    assert decode_png(png) == (await sim.session("haby-main"))["auth_code"]
    await sim.scan("haby-main", "5491100000001")
    await poll_until(lambda: said("haby/main is linked and connected"), "haby connected", 30)
    signed = SignedSender(f"http://127.0.0.1:{slack_port}/slack/events", SECRET, http)
    assert await signed.command(SLACK_USER, "pair marketing main") == 200
    await poll_until(lambda: bool(slack.uploads), "the QR upload to Slack", 30)
    await sim.scan("marketing-main", "5491100000002")
    await poll_until(
        lambda: slack_said("marketing/main is linked and connected"), "marketing connected", 30
    )

    # AI on for haby only; contacts write to both numbers.
    await tg.write(OWNER, "/ai haby on")
    await poll_until(lambda: said("AI replies are on for haby"), "AI on", 30)
    model.script(Reply("¡Hola Carla! Abrimos de 9 a 18."))
    await sim.inbound("haby-main", CARLA, "hola, a qué hora abren?")
    await _wait_sent(sim, "haby-main", "¡Hola Carla! Abrimos de 9 a 18.")
    await sim.inbound("marketing-main", "5491160000009", "hola, quiero info")
    await _wait_stored(env["WAOPS_DATABASE_URL"], "marketing", "5491160000009", "hola, quiero info")
    assert await signed.command(SLACK_USER, "chats marketing unanswered") == 200
    await poll_until(lambda: slack_said("hola, quiero info"), "the unanswered chat in Slack", 30)
    assert (
        await signed.command(SLACK_USER, "reply marketing 5491160000009 Hola! Te paso info.") == 200
    )
    await _wait_sent(sim, "marketing-main", "Hola! Te paso info.")

    # A small campaign, confirmed with its button.
    await tg.write(OWNER, "/campaign new haby main feria Hola {name}, ofertas de noviembre!")
    await poll_until(lambda: said("created"), "the campaign", 30)
    campaign_id = re.search(r"#(\d+) created", "\n".join(tg.texts(OWNER))).group(1)  # type: ignore[union-attr]
    await tg.write(OWNER, f"/campaign launch {campaign_id}")
    await poll_until(
        lambda: any(c.buttons for c in tg.sent("sendMessage", OWNER)), "the confirm button", 30
    )
    proposal = [c for c in tg.sent("sendMessage", OWNER) if c.buttons][-1]
    await tg.press(OWNER, proposal, "Confirm")
    await _wait_sent(sim, "haby-main", "Hola Ana, ofertas de noviembre!")
    await _wait_sent(sim, "haby-main", "Hola Beto, ofertas de noviembre!")

    # A disconnect alert and its resolution.
    await sim.action("haby-main", "drop")
    await poll_until(lambda: said("WhatsApp is disconnected"), "the disconnect alert", 30)
    await sim.action("haby-main", "restore")
    await poll_until(lambda: said("WhatsApp is connected again"), "the resolved notice", 30)

    # The digest.
    photos = len(tg.sent("sendPhoto", OWNER))
    await tg.write(OWNER, "/digest haby")
    await poll_until(lambda: len(tg.sent("sendPhoto", OWNER)) > photos, "the digest chart", 30)
    await poll_until(lambda: said(CARLA), "the digest text naming Carla's conversation", 30)


async def _wait_stored(
    url: str, client: str, phone: str, body: str, timeout_s: float = 30.0
) -> None:
    """Until the other process has stored this message (read from its database)."""

    async def stored(db: Database) -> bool:
        try:
            client_id = (await Directory(db).clients.get(client)).id
            contact = await ContactRepo(db).get(client_id, phone)
        except NotFound:
            return False
        return body in [m.body for m in await MessageRepo(db).conversation(contact.id)]

    async with Database(url) as db:
        await poll_until(lambda: stored(db), f"{body!r} to be stored", timeout_s)


async def _wait_sent(
    sim: SimulatorClient, session: str, body: str, timeout_s: float = 30.0
) -> None:
    async def sent() -> bool:
        return body in [s["body"] for s in await sim.sent(session)]

    await poll_until(sent, f"{session} to send {body!r}", timeout_s)
