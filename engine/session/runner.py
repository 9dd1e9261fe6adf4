"""One supervised WhatsApp session: the state machine of DESIGN.md around one driver.

The runner is the only writer of its session's state. It launches the driver (one `Life` per
page, session_life.py), and decides after every exit: reconnect with backoff (transient), wait
for a pairing (logged out, QR expired), wait for an operator (open in another window), stop for
good (banned) or give up and tell operators (failed). Pairing bookkeeping is session_pairing.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from engine.clock import utcnow
from engine.events import EventBus, SessionRef, SessionStateChanged
from engine.session.catch_up import CatchUp
from engine.session.life import SHOWING_QR, Life, Recheck, Stop
from engine.session.pairing import Pairing
from engine.session.policy import (
    AlreadyPaired,
    Exit,
    ExitKind,
    InConflict,
    SessionPolicy,
    describe,
)
from engine.whatsapp.driver import WhatsAppDriver
from engine.whatsapp.errors import (
    NotInConflict,
    NotLoggedIn,
    ProfileInUse,
    SessionLost,
    WhatsAppError,
)
from storage.db import StorageUnavailable
from storage.records import SessionState
from storage.repos import SessionRepo

__all__ = ["AlreadyPaired", "InConflict", "SessionPolicy", "SessionRunner"]

logger = logging.getLogger(__name__)

S = SessionState
_ON_THE_WAY = (S.CONFLICT, S.STARTING, S.RECONNECTING)
DriverFactory = Callable[[], WhatsAppDriver]
T = TypeVar("T")


async def _on_page(life: Life, call: Callable[[WhatsAppDriver], Awaitable[T]]) -> T:
    """Run a pairing call on the page; if it fails as a page does mid-reload (WhatsApp Web
    reloads itself after a logout), once more when the page answers again."""
    try:
        return await call(life.driver)
    except SessionLost:
        life.reloading()
        await life.page_ready.wait()
        return await call(life.driver)


async def _close(life: Life, driver: WhatsAppDriver) -> None:
    await life.close()
    await driver.stop()


class SessionRunner:
    """Runs one session until stopped; `run()` is the body of its supervised task."""

    def __init__(
        self,
        ref: SessionRef,
        state: SessionState,
        paired_before: bool,
        make_driver: DriverFactory,
        repo: SessionRepo,
        bus: EventBus,
        policy: SessionPolicy,
        *,
        catch_up: CatchUp,
    ) -> None:
        self.ref = ref
        self.state = state
        self.paired_before = paired_before
        self.take_over_asked = False
        self._make_driver = make_driver
        self._repo = repo
        self._bus = bus
        self._policy = policy
        self._catch_up = catch_up
        self._life: Life | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._changed = asyncio.Condition()
        self._writing = asyncio.Lock()
        self._pairing = Pairing(ref, bus, policy.max_qr_attempts)
        self._me: str | None = None
        self._connected_this_life = False

    @property
    def driver(self) -> WhatsAppDriver | None:
        """The driver of the page open now (None while the browser is closed)."""
        return None if self._life is None else self._life.driver

    # -- control from the manager -------------------------------------------------------

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._life is not None:
            self._life.push(Stop())

    async def wait_for(self, states: set[SessionState], timeout_s: float) -> SessionState:
        """Wait until the session is in one of `states`; TimeoutError otherwise."""
        return await self._wait_until(lambda: self.state in states, timeout_s)

    async def _wait_until(self, ready: Callable[[], bool], timeout_s: float) -> SessionState:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(ready)
            return self.state

    async def pair(self, phone: str | None, timeout_s: float) -> str:
        """Start pairing: returns the QR text, or the 8-character code when `phone` is given.

        A plain request cancels a code flow and, when the QR went idle, asks for a fresh one;
        a parked session is launched again first.
        """
        if self.state is S.CONNECTED:
            raise AlreadyPaired(f"{self.ref} is connected already; log it out first to re-pair")
        if self.state is S.BANNED:
            raise WhatsAppError(f"{self.ref} is banned by WhatsApp and cannot be paired again")
        if self.state is S.CONFLICT:
            raise InConflict(f"{self.ref} is linked but open in another window; take it over")
        if self._life is None:
            self._wake.set()
        try:
            async with asyncio.timeout(timeout_s):
                return await self._pair(phone)
        except TimeoutError:
            raise WhatsAppError(
                f"{self.ref}: WhatsApp Web showed no QR within {timeout_s:g} s"
            ) from None

    async def _pair(self, phone: str | None) -> str:
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    self.state is S.CONNECTED
                    or (self._life is not None and self.state in SHOWING_QR)
                )
            )
        life = self._life
        if self.state is S.CONNECTED or life is None:
            raise AlreadyPaired(f"{self.ref} connected while pairing was requested")
        if phone is not None:
            return await _on_page(life, lambda d: self._pairing.request_code(d, phone))
        qr = await _on_page(life, self._pairing.fresh_qr)
        if qr is not None:
            return qr
        if (await _on_page(life, lambda d: d.status())).logged_in:
            life.push(Recheck())
            raise AlreadyPaired(f"{self.ref} is linked already")
        # Not linked and no QR yet: a page that just reloaded (after a logout, WhatsApp Web
        # reloads itself) shows its QR a moment later. The caller's timeout bounds the wait.
        await self._pairing.qr_shown.wait()
        assert self._pairing.last_qr is not None
        return self._pairing.last_qr

    async def take_over(self, timeout_s: float) -> SessionState:
        """Use WhatsApp here although it is open in another window (that window is kicked).

        Returns the state reached within `timeout_s` (``connected`` when it worked).
        """
        if self.state is not S.CONFLICT:
            raise NotInConflict(f"{self.ref} is not open in another window (it is {self.state})")
        life = self._life
        if life is None:
            # Parked: the next page takes over when it finds the conflict (Life._conflict).
            self.take_over_asked = True
            self._wake.set()
        else:
            await life.driver.take_over()
            life.push(Recheck())
        try:
            return await self._wait_until(lambda: self.state not in _ON_THE_WAY, timeout_s)
        except TimeoutError:
            return self.state

    async def logout(self) -> None:
        """Unlink the device; the session ends ``logged_out`` (the page then reloads to a QR,
        which is not a lost session)."""
        life = self._life
        if life is None:
            raise NotLoggedIn(f"{self.ref} is not running; nothing to log out")
        life.logging_out(True)
        try:
            await life.driver.logout()
        except BaseException:
            life.logging_out(False)
            raise
        self.paired_before = True
        self._pairing.clear()
        await self.set_state(S.LOGGED_OUT, "logged out by an operator")

    # -- the supervised loop ------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while not self._stopping:
            self._connected_this_life = False
            exit_ = await self._one_life(reconnecting=failures > 0)
            if self._connected_this_life:
                # A page that worked and then died is a first failure, not one more: only
                # lives that never connect add up to `max_start_failures` (the fault bench's
                # sixth crash in a process lifetime parked a healthy number as failed).
                failures = 0
            if exit_.kind is ExitKind.STOP:
                break
            if exit_.kind is ExitKind.BANNED:
                await self.set_state(S.BANNED, exit_.reason)
                return
            if exit_.kind in (ExitKind.WAIT_PAIRING, ExitKind.CONFLICT):
                failures = 0
                conflict = exit_.kind is ExitKind.CONFLICT
                await self._park(exit_.reason, state=S.CONFLICT if conflict else None)
                continue
            failures += 1
            if exit_.kind is ExitKind.FAILED or failures > self._policy.max_start_failures:
                await self.set_state(S.FAILED, exit_.reason)
                await self._park(exit_.reason, state=S.FAILED)
                failures = 0
                continue
            delay_s = self._policy.backoff.delay_s(failures - 1)
            await self.set_state(S.RECONNECTING, f"{exit_.reason}; retry in {delay_s:.1f} s")
            await self._sleep_unless_stopped(delay_s)
        # A conflict stays a conflict: the next start must not take over behind anyone's back.
        if self.state not in (S.BANNED, S.LOGGED_OUT, S.CONFLICT):
            await self.set_state(S.STOPPED, "stopped")

    async def _park(self, reason: str, state: SessionState | None = None) -> None:
        """Browser closed; wait until someone asks to pair (or restart) or the runner stops.

        Parked in a conflict only a take-over (or stop) wakes it: a new page would take
        WhatsApp back from the other window.
        """
        if state is None:
            state = S.LOGGED_OUT if self.paired_before else S.STOPPED
        await self.set_state(state, reason)
        if state is S.CONFLICT:
            while not (self._stopping or self.take_over_asked):
                self._wake.clear()
                await self._wake.wait()
            return
        await self._wake.wait()

    async def _sleep_unless_stopped(self, delay_s: float) -> None:
        self._wake.clear()
        try:
            async with asyncio.timeout(delay_s):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _one_life(self, *, reconnecting: bool) -> Exit:
        """Launch a driver, supervise it until it must go, and always close it."""
        self._wake.clear()
        await self.set_state(S.RECONNECTING if reconnecting else S.STARTING, None)
        self._pairing.clear()
        driver = self._make_driver()
        life = Life(self, driver, self._pairing, self._bus, self._policy, self._catch_up)
        try:
            try:
                await driver.start(life.on_driver_event)
                self._life = life
                if self._stopping:
                    life.push(Stop())
                exit_ = await life.run()
            except ProfileInUse as exc:
                return Exit(ExitKind.FAILED, f"{exc}; is another waops running this session?")
            except WhatsAppError as exc:
                exit_ = Exit(ExitKind.TRANSIENT, describe(exc))
            if exit_.kind is ExitKind.TRANSIENT and self.state is S.CONFLICT:
                # Reconnecting would take WhatsApp back from the other window: operators decide.
                return Exit(ExitKind.CONFLICT, f"open in another window; {exit_.reason}")
            if exit_.kind is ExitKind.TRANSIENT:
                # Say so before closing the browser, which can take a while for a hung page.
                await self.set_state(S.RECONNECTING, exit_.reason)
            return exit_
        finally:
            self._life = None
            closing = asyncio.ensure_future(_close(life, driver))
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                await closing
                raise

    async def save_phone(self, me: str | None) -> None:
        """Remember the number this session is linked to (once per change)."""
        if not me or me == self._me:
            return
        try:
            await self._repo.set_phone(self.ref.session_id, me.split("@")[0], me)
            self._me = me
        except StorageUnavailable as exc:
            logger.warning("session %s: could not save its number: %s", self.ref, exc)

    async def set_state(self, state: SessionState, reason: str | None) -> None:
        """Save and announce a state change. The supervisor and an operator's call (logout)
        may both write: one at a time, so the database, the memory and the events agree."""
        async with self._writing:
            old = self.state
            at = utcnow()
            if state is S.CONNECTED:
                self._connected_this_life = True
            try:
                await self._repo.set_state(self.ref.session_id, state, reason, at=at)
            except StorageUnavailable as exc:
                # Supervision must go on while the database is away; the next change is saved.
                logger.warning("session %s: could not save state %s: %s", self.ref, state, exc)
            async with self._changed:
                self.state = state
                self._changed.notify_all()
            if old is not state:
                logger.info("session %s: %s -> %s (%s)", self.ref, old, state, reason or "")
                await self._bus.publish(SessionStateChanged(self.ref, old, state, reason, at))
