"""A SessionManager on the scripted driver (tests/support/scripted_driver.py) and a real
database, for state-machine tests that need no browser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.events import EventBus, PairingCodeFailed
from engine.retry import Backoff
from engine.session.runner import SessionPolicy
from engine.sessions import SessionManager
from storage.db import Database
from storage.records import SessionState, WaSession
from storage.repos import ClientRepo
from tests.support.events import SESSION_EVENTS, EventLog
from tests.support.poll import poll_until
from tests.support.scripted_driver import FakeAccount, ScriptedDriver

S = SessionState
TIMEOUT_S = 10.0
POLICY = SessionPolicy(
    backoff=Backoff(initial_s=0.01, max_s=0.05),
    max_qr_attempts=3,
    watchdog_interval_s=0.05,
    alive_timeout_s=0.3,
    offline_reload_s=0.4,
    login_timeout_s=0.4,
    stop_timeout_s=5.0,
    reload_timeout_s=1.0,
    qr_idle_keep_s=0.4,
    take_over_timeout_s=3.0,
)
# Longer than every timer of POLICY: what has not happened by then is not going to.
QUIET_S = 1.5
KINDS = (*SESSION_EVENTS, PairingCodeFailed)


@dataclass
class Rig(EventLog):
    db: Database
    bus: EventBus
    account: FakeAccount
    data_dir: Path
    managers: list[SessionManager] = field(default_factory=list)

    def __post_init__(self) -> None:
        EventLog.__init__(self, self.bus, KINDS, TIMEOUT_S)

    def manager(self, policy: SessionPolicy = POLICY) -> SessionManager:
        def make(_session: WaSession) -> ScriptedDriver:
            return self.account.driver()

        manager = SessionManager(self.db, self.bus, make, self.data_dir, policy, pair_timeout_s=5)
        self.managers.append(manager)
        return manager

    def states(self) -> list[SessionState]:
        return self.states_of()

    async def until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait for something no event announces (a page closed): look every few ms."""
        await poll_until(
            predicate, what, TIMEOUT_S, every_s=0.01, context=lambda: f"events: {self.events}"
        )

    async def wait_state(self, state: SessionState) -> None:
        await self.wait_last_state(state)

    async def connected(self, manager: SessionManager) -> None:
        """Pair haby/main by QR and wait until it is connected."""
        await manager.pair("haby", "main")
        self.account.page.phone_scans()
        await self.wait_state(S.CONNECTED)


async def make_rig(db: Database, data_dir: Path) -> Rig:
    await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    return Rig(db, EventBus(), FakeAccount(), data_dir)
