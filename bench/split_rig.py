"""What the split-deployment benches share (issue 17): numbers paired on the simulator in this
process, the environment of a `waops worker` on them, and which worker runs what."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.baseline import fresh_database
from engine.directory import Directory
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database
from storage.records import SessionState
from storage.repos import SessionRepo
from storage.repos.leases import LeaseRepo
from tests.support.pairing import pair_numbers

CLIENT = "bench"


@dataclass(frozen=True)
class PairedNumbers:
    """A fresh database with client `bench` and its numbers `n1`... paired, the simulator that
    runs them, and a temporary folder: `root` for the logs, `data` for the shared volume."""

    url: str
    db: Database
    simulator: Simulator
    sim: SimulatorClient
    root: Path
    data: Path
    client_id: int
    sessions: dict[str, int]  # number -> session id


@asynccontextmanager
async def paired_numbers(url: str, numbers: int, prefix: str) -> AsyncIterator[PairedNumbers]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        names = [f"n{i}" for i in range(1, numbers + 1)]
        async with (
            Database(url) as db,
            Simulator(qr_rotate_s=600) as simulator,
            SimulatorClient(simulator.base_url) as sim,
        ):
            await fresh_database(db)
            client = await Directory(db).add_client(
                CLIENT, "Bench", "AR", "America/Argentina/Cordoba"
            )
            sessions = await pair_numbers(db, simulator, sim, root / "data", CLIENT, names)
            yield PairedNumbers(url, db, simulator, sim, root, root / "data", client.id, sessions)


def worker_env(world: PairedNumbers, **settings: str) -> dict[str, str]:
    """The environment of a `waops worker` on the simulator: ours without any WAOPS_ variable,
    then the database, the shared data folder, no health server, and `settings` (WAOPS_ names)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("WAOPS_")},
        "WAOPS_DATABASE_URL": world.url,
        "WAOPS_DATA_DIR": str(world.data),
        "WAOPS_WHATSAPP_URL": world.simulator.whatsapp_url,
        "WAOPS_WA_JS_PATH": world.simulator.wa_js_path,
        "WAOPS_HEALTH_PORT": "0",
        **settings,
    }


async def numbers_running(db: Database, workers: Iterable[str]) -> Counter[str]:
    """How many numbers each worker runs: held under its lease and connected."""
    now = datetime.now(UTC)
    states = {s.id: s.state for s in await SessionRepo(db).list()}
    counts: Counter[str] = Counter()
    for worker in workers:
        for lease in await LeaseRepo(db).held(worker, now):
            if states.get(lease.session_id) is SessionState.CONNECTED:
                counts[worker] += 1
    return counts
