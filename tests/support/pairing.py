"""Numbers paired once in this process, as an operator did before a split deployment starts:
the profiles stay in `data` for the workers to open."""

from __future__ import annotations

from pathlib import Path

from engine.events import EventBus
from engine.sessions import SessionManager, playwright_factory
from engine.settings import load_settings
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database
from storage.records import SessionState
from tests.support.sim_world import POLICY


async def pair_numbers(
    db: Database,
    simulator: Simulator,
    sim: SimulatorClient,
    data: Path,
    client: str,
    numbers: list[str],
) -> dict[str, int]:
    """Add and pair `client`'s `numbers` (phones 5491100000001, ...), then close them; the
    session id of each."""
    settings = load_settings(
        data_dir=data, whatsapp_url=simulator.whatsapp_url, wa_js_path=simulator.wa_js_path
    )
    manager = SessionManager(db, EventBus(), playwright_factory(settings), data, POLICY)
    ids = {}
    try:
        for n, number in enumerate(numbers, start=1):
            session = await manager.add(client, number)
            await manager.pair(client, number)
            await sim.scan(f"{client}-{number}", f"54911000000{n:02d}")
            await manager.wait_for_state(session.id, {SessionState.CONNECTED}, 60)
            ids[number] = session.id
    finally:
        await manager.stop()
    return ids
