"""`waops run` as a separate process while Telegram is down for its first half minute: the
engine starts anyway (a number pairs, a contact's message is stored), `/healthz` says Telegram
is being retried, an alert raised meanwhile waits in the outbox, and once Telegram answers again
commands are answered and the alert arrives."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.directory import Directory
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database, NotFound
from storage.records import SessionState
from storage.repos import ClientRepo, ContactRepo, MessageRepo, SessionRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from tests.support.fakes.telegram_server import FakeTelegram
from tests.support.poll import poll_until
from tests.support.waops_process import free_port, stop_waops, waops_env, waops_running

pytestmark = pytest.mark.browser

OWNER = 400
OUTAGE_S = 30.0
CONTACT = "5491150000007"


async def test_waops_runs_through_a_telegram_outage_at_start(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "waops.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'waops.db'}"
    async with Database(url) as db:
        directory = Directory(db)
        await directory.add_client("haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires")
        await directory.add_session("haby", "main")
        await directory.add_operator(f"tg:{OWNER}", "owner", language="en")
        await AlertSubscriptionRepo(db).set_reachable(f"tg:{OWNER}")

    health_port = free_port()
    async with (
        Simulator(qr_rotate_s=60) as simulator,
        SimulatorClient(simulator.base_url) as sim,
        FakeTelegram() as tg,
        aiohttp.ClientSession() as http,
        Database(url) as db,
    ):
        tg.opened_by(OWNER)  # the owner wrote /start long ago
        tg.outage_for(OUTAGE_S)
        env = waops_env(url, tmp_path / "data", simulator, tg, health_port, {})

        async def health() -> dict[str, Any]:
            async with http.get(f"http://127.0.0.1:{health_port}/healthz") as response:
                assert response.status == 200
                body: dict[str, Any] = await response.json()
                return body

        async def state() -> SessionState:
            return (await SessionRepo(db).get("haby", "main")).state

        log_path = tmp_path / "waops.log"
        async with waops_running(env, tmp_path, log_path) as process:

            async def started() -> bool:
                return "waops started" in log_path.read_text()

            await poll_until(started, "waops to start although Telegram is down", 60)
            report = await health()
            assert report["status"] == "degraded"
            assert report["channels"]["telegram"]["state"] == "retrying"

            # WhatsApp works meanwhile: the number pairs, a contact's message is stored.
            await poll_until(
                lambda: _is(state, SessionState.QR_PENDING), "the session to show a QR", 30
            )
            await sim.scan("haby-main", "5491100000001")
            await poll_until(lambda: _is(state, SessionState.CONNECTED), "connected", 30)
            await sim.inbound("haby-main", CONTACT, "hola, siguen abiertos?")
            await poll_until(lambda: _stored(db, "hola, siguen abiertos?"), "the message", 30)

            # An alert raised during the outage waits in the outbox.
            await sim.action("haby-main", "drop")
            await poll_until(lambda: _is(state, SessionState.DISCONNECTED), "the drop", 30)
            await asyncio.sleep(2)  # past WAOPS_ALERT_GRACE_S
            assert tg.sent("sendMessage") == [], "Telegram is still down"
            outage_calls = [c for c in tg.calls if c.status == 502]
            assert {c.method for c in outage_calls} >= {"getMe"}

            async def back() -> bool:
                return (await health())["channels"]["telegram"]["state"] == "up"

            await poll_until(back, "Telegram to be up again", OUTAGE_S + 60)
            assert (await health())["status"] == "ok"
            await tg.write(OWNER, "/sessions")

            async def answered() -> bool:
                return any("haby/main" in text for text in tg.texts(OWNER))

            await poll_until(answered, "the /sessions answer", 30)

            async def alerted() -> bool:
                return any("WhatsApp is disconnected" in t for t in tg.texts(OWNER))

            await poll_until(alerted, "the alert from the outage", 60)
            code = await stop_waops(process)
        output = log_path.read_text()
        assert code == 0, output[-3000:]
        assert "telegram unreachable" in output, "the log says what is going on"
        assert "Traceback" not in output, output[-3000:]
        tg.assert_no_unexpected()


async def _is(state: Callable[[], Awaitable[SessionState]], wanted: SessionState) -> bool:
    return await state() is wanted


async def _stored(db: Database, body: str) -> bool:
    try:
        client = await ClientRepo(db).get("haby")
        contact = await ContactRepo(db).get(client.id, CONTACT)
    except NotFound:
        return False
    return body in [m.body for m in await MessageRepo(db).conversation(contact.id)]
