"""A simulator, a database and a SessionManager on real Chromium, for engine tests."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image

from engine.events import EventBus, InboundReceived, ReceiptUpdated
from engine.retry import Backoff
from engine.session.runner import SessionPolicy
from engine.sessions import SessionManager, playwright_factory
from engine.settings import load_settings
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database
from storage.records import SessionState
from storage.repos import ClientRepo
from tests.support.events import SESSION_EVENTS, EventLog

S = SessionState
TIMEOUT_S = 30.0
POLICY = SessionPolicy(
    backoff=Backoff(initial_s=0.2, max_s=1.0),
    max_qr_attempts=50,
    watchdog_interval_s=1.0,
    alive_timeout_s=5.0,
    offline_reload_s=60.0,
    stop_timeout_s=15.0,
)


RECORDED = (*SESSION_EVENTS, InboundReceived, ReceiptUpdated)


class Recorder(EventLog):
    """Collects engine events; tests wait on conditions instead of sleeping."""

    def __init__(self, bus: EventBus) -> None:
        super().__init__(bus, RECORDED, TIMEOUT_S)

    def states(self, key: str) -> list[SessionState]:
        return self.states_of(key)

    async def wait_state(self, key: str, state: SessionState) -> None:
        await self.wait_last_state(state, key)


@dataclass
class World:
    db: Database
    sim: SimulatorClient
    simulator: Simulator
    bus: EventBus
    rec: Recorder
    data_dir: Path
    managers: list[SessionManager]

    def manager(self) -> SessionManager:
        settings = load_settings(
            data_dir=self.data_dir,
            whatsapp_url=self.simulator.whatsapp_url,
            wa_js_path=self.simulator.wa_js_path,
        )
        manager = SessionManager(
            self.db, self.bus, playwright_factory(settings), self.data_dir, POLICY
        )
        self.managers.append(manager)
        return manager

    async def connect(self, manager: SessionManager, client: str, name: str, phone: str) -> None:
        await manager.pair(client, name)
        await self.sim.scan(f"{client}-{name}", phone)
        await self.rec.wait_state(f"{client}-{name}", S.CONNECTED)


async def make_world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    """Yield a World; the conftest turns this into the `world` fixture."""
    shutil.copy(sqlite_template, tmp_path / "w.db")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    for slug in ("haby", "marketing"):
        await ClientRepo(db).add(slug, slug.title(), "AR", "America/Argentina/Buenos_Aires")
    bus = EventBus()
    async with Simulator(qr_rotate_s=60) as simulator, SimulatorClient(simulator.base_url) as sim:
        world = World(db, sim, simulator, bus, Recorder(bus), tmp_path / "data", [])
        try:
            yield world
        finally:
            for manager in world.managers:
                await manager.stop()
            await db.shutdown()


def decode_png(png: bytes) -> str:
    result = zxingcpp.read_barcode(Image.open(io.BytesIO(png)))
    assert result is not None, "the QR image does not decode"
    return str(result.text)
