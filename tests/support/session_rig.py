"""A SessionManager on the scripted driver (tests/support/scripted_driver.py) and a real
database, for state-machine tests that need no browser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import (
    EventBus,
    PairingCodeExpired,
    PairingCodeFailed,
    PairingCodeIssued,
    QrExpired,
    QrUpdated,
    SessionStateChanged,
)
from engine.retry import Backoff
from engine.session.runner import SessionPolicy
from engine.sessions import SessionManager
from storage.db import Database
from storage.records import SessionState, WaSession
from storage.repos import ClientRepo
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
KINDS = (
    SessionStateChanged,
    QrUpdated,
    QrExpired,
    PairingCodeIssued,
    PairingCodeExpired,
    PairingCodeFailed,
)


@dataclass
class Rig:
    db: Database
    bus: EventBus
    account: FakeAccount
    data_dir: Path
    events: list[Any] = field(default_factory=list)
    managers: list[SessionManager] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def manager(self, policy: SessionPolicy = POLICY) -> SessionManager:
        def make(_session: WaSession) -> ScriptedDriver:
            return self.account.driver()

        manager = SessionManager(self.db, self.bus, make, self.data_dir, policy, pair_timeout_s=5)
        self.managers.append(manager)
        return manager

    async def record(self, event: Any) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[SessionState]:
        return [e.new for e in self.of(SessionStateChanged)]

    async def wait(self, predicate: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(TIMEOUT_S), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; events: {self.events}") from None

    async def until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait for something no event announces (a page closed): look every few ms."""
        try:
            async with asyncio.timeout(TIMEOUT_S):
                while not predicate():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; events: {self.events}") from None

    async def wait_state(self, state: SessionState) -> None:
        await self.wait(lambda: bool(self.states()) and self.states()[-1] is state, str(state))

    async def connected(self, manager: SessionManager) -> None:
        """Pair haby/main by QR and wait until it is connected."""
        await manager.pair("haby", "main")
        self.account.page.phone_scans()
        await self.wait_state(S.CONNECTED)


async def make_rig(db: Database, data_dir: Path) -> Rig:
    await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    bus = EventBus()
    rig = Rig(db, bus, FakeAccount(), data_dir)
    for kind in KINDS:
        bus.subscribe(kind, rig.record)
    return rig
