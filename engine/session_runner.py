"""One supervised WhatsApp session: the state machine of DESIGN.md around one driver.

The runner is the only writer of its session's state. It launches the driver, follows its
events, and decides after every exit: reconnect with backoff (transient), wait for a pairing
(logged out, QR expired), stop for good (banned) or give up and tell operators (failed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from engine.events import (
    EventBus,
    InboundReceived,
    PairingCodeIssued,
    QrExpired,
    QrUpdated,
    ReceiptUpdated,
    SessionRef,
    SessionStateChanged,
)
from engine.retry import Backoff
from engine.whatsapp.driver import WhatsAppDriver
from engine.whatsapp.errors import ProfileInUse, WAJSNotReady, WhatsAppError
from engine.whatsapp.types import (
    AckChanged,
    BrowserClosed,
    DriverEvent,
    LoggedOut,
    MessageReceived,
    OnlineChanged,
    PageCrashed,
    PageReady,
    QrCodeChanged,
    StreamMode,
    StreamModeChanged,
)
from storage.db import StorageUnavailable
from storage.models import utcnow
from storage.records import SessionState
from storage.repos import SessionRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionPolicy:
    """Timings of supervision; tests shrink them, production keeps the defaults."""

    backoff: Backoff = field(default_factory=Backoff)
    max_qr_attempts: int = 6
    watchdog_interval_s: float = 30.0
    alive_timeout_s: float = 10.0
    offline_reload_s: float = 120.0
    login_timeout_s: float = 120.0
    max_start_failures: int = 5
    stop_timeout_s: float = 20.0


class ExitKind(StrEnum):
    STOP = "stop"
    TRANSIENT = "transient"
    WAIT_PAIRING = "wait_pairing"
    BANNED = "banned"
    FAILED = "failed"


@dataclass(frozen=True)
class Exit:
    kind: ExitKind
    reason: str


class AlreadyPaired(WhatsAppError):
    """`pair` was asked for a session that is connected."""


class _Stop:
    pass


class _Recheck:
    """Ask the supervisor to read the link status again (after a pairing request)."""


DriverFactory = Callable[[], WhatsAppDriver]
_Signal = DriverEvent | _Stop | _Recheck


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
    ) -> None:
        self.ref = ref
        self.state = state
        self.driver: WhatsAppDriver | None = None
        self._paired_before = paired_before
        self._make_driver = make_driver
        self._repo = repo
        self._bus = bus
        self._policy = policy
        self._inbox: asyncio.Queue[_Signal] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._stopping = False
        self._changed = asyncio.Condition()
        self._qr_attempts = 0
        self._last_qr: str | None = None
        self._me: str | None = None
        self._offline_since: float | None = None
        self._login_deadline: float | None = None

    # -- control from the manager -------------------------------------------------------

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._inbox.put_nowait(_Stop())

    async def wait_for(self, states: set[SessionState], timeout_s: float) -> SessionState:
        """Wait until the session is in one of `states`; TimeoutError otherwise."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: self.state in states)
            return self.state

    async def pair(self, phone: str | None, timeout_s: float) -> str:
        """Start pairing: returns the QR text, or the 8-character code when `phone` is given."""
        if self.state is SessionState.CONNECTED:
            raise AlreadyPaired(f"{self.ref} is connected already; log it out first to re-pair")
        if self.state is SessionState.BANNED:
            raise WhatsAppError(f"{self.ref} is banned by WhatsApp and cannot be paired again")
        self._qr_attempts = 0
        self._last_qr = None
        if self.driver is None:
            self._wake.set()
        waiting = {SessionState.QR_PENDING, SessionState.LOGGED_OUT, SessionState.CONNECTED}
        state = await self.wait_for(waiting, timeout_s)
        driver = self.driver
        if state is SessionState.CONNECTED or driver is None:
            raise AlreadyPaired(f"{self.ref} connected while pairing was requested")
        if phone is not None:
            code = await driver.request_pairing_code(phone)
            await self._bus.publish(PairingCodeIssued(self.ref, phone, code))
            return code
        qr = await driver.auth_code()
        if qr is None:
            self._inbox.put_nowait(_Recheck())
            raise AlreadyPaired(f"{self.ref} is linked already")
        await self._publish_qr(qr)
        return qr

    # -- the supervised loop ------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while not self._stopping:
            exit_ = await self._one_life(reconnecting=failures > 0)
            if exit_.kind is ExitKind.STOP:
                break
            if exit_.kind is ExitKind.BANNED:
                await self._set(SessionState.BANNED, exit_.reason)
                return
            if exit_.kind is ExitKind.WAIT_PAIRING:
                failures = 0
                await self._park(exit_.reason)
                continue
            failures += 1
            if exit_.kind is ExitKind.FAILED or failures > self._policy.max_start_failures:
                await self._set(SessionState.FAILED, exit_.reason)
                await self._park(exit_.reason, state=SessionState.FAILED)
                failures = 0
                continue
            delay_s = self._policy.backoff.delay_s(failures - 1)
            await self._set(SessionState.RECONNECTING, f"{exit_.reason}; retry in {delay_s:.1f} s")
            await self._sleep_unless_stopped(delay_s)
        if self.state not in (SessionState.BANNED, SessionState.LOGGED_OUT):
            await self._set(SessionState.STOPPED, "stopped")

    async def _park(self, reason: str, state: SessionState | None = None) -> None:
        """Browser closed; wait until someone asks to pair (or restart) or the runner stops."""
        if state is None:
            state = SessionState.LOGGED_OUT if self._paired_before else SessionState.STOPPED
        await self._set(state, reason)
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
        await self._set(SessionState.RECONNECTING if reconnecting else SessionState.STARTING, None)
        self._inbox = asyncio.Queue()
        if self._stopping:
            self._inbox.put_nowait(_Stop())
        self._qr_attempts = 0
        self._offline_since = self._login_deadline = None
        driver = self._make_driver()
        try:
            await driver.start(self._on_driver_event)
            self.driver = driver
            exit_ = await self._supervise(driver)
            if exit_.kind is ExitKind.TRANSIENT:
                # Say so before closing the browser, which can take a while for a hung page.
                await self._set(SessionState.RECONNECTING, exit_.reason)
            return exit_
        except WAJSNotReady as exc:
            return Exit(ExitKind.TRANSIENT, str(exc))
        except ProfileInUse as exc:
            return Exit(ExitKind.FAILED, f"{exc}; is another waops running this session?")
        except WhatsAppError as exc:
            return Exit(ExitKind.TRANSIENT, str(exc) or type(exc).__name__)
        finally:
            self.driver = None
            closing = asyncio.ensure_future(driver.stop())
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                await closing
                raise

    async def _supervise(self, driver: WhatsAppDriver) -> Exit:
        exit_ = await self._check_status(driver)
        if exit_ is not None:
            return exit_
        next_watch = time.monotonic() + self._policy.watchdog_interval_s
        while True:
            wait_s = max(0.0, next_watch - time.monotonic())
            try:
                async with asyncio.timeout(wait_s):
                    signal = await self._inbox.get()
            except TimeoutError:
                next_watch = time.monotonic() + self._policy.watchdog_interval_s
                exit_ = await self._watchdog(driver)
            else:
                exit_ = await self._handle(driver, signal)
            if exit_ is not None:
                return exit_

    async def _watchdog(self, driver: WhatsAppDriver) -> Exit | None:
        now = time.monotonic()
        if not await driver.is_alive(self._policy.alive_timeout_s):
            return Exit(ExitKind.TRANSIENT, "the WhatsApp page stopped answering")
        if (
            self._offline_since is not None
            and now - self._offline_since > self._policy.offline_reload_s
        ):
            return Exit(ExitKind.TRANSIENT, "offline for too long")
        if self._login_deadline is not None and now > self._login_deadline:
            return Exit(ExitKind.TRANSIENT, "login did not finish in time")
        return None

    async def _handle(self, driver: WhatsAppDriver, signal: _Signal) -> Exit | None:
        match signal:
            case _Stop():
                return Exit(ExitKind.STOP, "stopped")
            case PageCrashed():
                return Exit(ExitKind.TRANSIENT, "the WhatsApp page crashed")
            case BrowserClosed():
                return Exit(ExitKind.TRANSIENT, "the browser closed unexpectedly")
            case LoggedOut(reason=reason):
                self._paired_before = True
                await self._set(SessionState.LOGGED_OUT, f"logged out ({reason or 'by the phone'})")
                self._qr_attempts = 0
                return None
            case StreamModeChanged(mode=mode) if mode.is_banned:
                return Exit(ExitKind.BANNED, f"WhatsApp blocked the number ({mode})")
            case QrCodeChanged(code=code):
                if code is None:
                    return await self._check_status(driver)
                if self.state in (SessionState.QR_PENDING, SessionState.LOGGED_OUT):
                    if self._qr_attempts >= self._policy.max_qr_attempts:
                        await self._bus.publish(QrExpired(self.ref))
                        return Exit(ExitKind.WAIT_PAIRING, "the QR expired unscanned; pair again")
                    await self._publish_qr(code)
                return None
            case StreamModeChanged() | OnlineChanged() | PageReady() | _Recheck():
                return await self._check_status(driver)
        return None

    async def _check_status(self, driver: WhatsAppDriver) -> Exit | None:
        """Read the link status and move the state machine to match it."""
        try:
            # A status read is a liveness probe too: a hung page must not hold the supervisor.
            async with asyncio.timeout(self._policy.alive_timeout_s):
                status = await driver.status()
        except TimeoutError:
            return Exit(ExitKind.TRANSIENT, "the WhatsApp page stopped answering")
        now = time.monotonic()
        if status.mode.is_banned:
            return Exit(ExitKind.BANNED, f"WhatsApp blocked the number ({status.mode})")
        if status.logged_in and status.online:
            self._paired_before = True
            self._offline_since = self._login_deadline = None
            if status.me and status.me != self._me:
                try:
                    await self._repo.set_phone(
                        self.ref.session_id, status.me.split("@")[0], status.me
                    )
                    self._me = status.me
                except StorageUnavailable as exc:
                    logger.warning("session %s: could not save its number: %s", self.ref, exc)
            await self._set(SessionState.CONNECTED, None)
        elif status.mode is StreamMode.QR:
            self._login_deadline = None
            if self.state not in (SessionState.QR_PENDING, SessionState.LOGGED_OUT):
                pending = (
                    SessionState.LOGGED_OUT if self._paired_before else SessionState.QR_PENDING
                )
                await self._set(pending, "waiting for the QR to be scanned")
                code = await driver.auth_code()
                if code is not None:
                    await self._publish_qr(code)
        elif status.logged_in or self.state is SessionState.CONNECTED:
            self._offline_since = self._offline_since or now
            await self._set(
                SessionState.DISCONNECTED, f"connection lost ({status.mode}, {status.info})"
            )
        else:
            # Authenticated but still syncing: give it a bounded time to reach MAIN.
            self._login_deadline = self._login_deadline or now + self._policy.login_timeout_s
        return None

    async def _publish_qr(self, code: str) -> None:
        if code == self._last_qr:
            return  # WA-JS repeats the current code on injection; one rotation, one event
        self._last_qr = code
        self._qr_attempts += 1
        await self._bus.publish(
            QrUpdated(self.ref, code, self._qr_attempts, self._policy.max_qr_attempts)
        )

    async def _on_driver_event(self, event: DriverEvent) -> None:
        """Driver callback: messages and receipts go straight out; the rest to the supervisor."""
        if isinstance(event, MessageReceived):
            await self._bus.publish(InboundReceived(self.ref, event.message))
        elif isinstance(event, AckChanged):
            await self._bus.publish(ReceiptUpdated(self.ref, event.ids, event.ack))
        else:
            self._inbox.put_nowait(event)

    async def _set(self, state: SessionState, reason: str | None) -> None:
        old = self.state
        at = utcnow()
        try:
            await self._repo.set_state(self.ref.session_id, state, reason, at=at)
        except StorageUnavailable as exc:
            # Supervision must go on while the database is away; the next change is saved again.
            logger.warning("session %s: could not save state %s: %s", self.ref, state, exc)
        async with self._changed:
            self.state = state
            self._changed.notify_all()
        if old is not state:
            logger.info("session %s: %s -> %s (%s)", self.ref, old, state, reason or "")
            await self._bus.publish(SessionStateChanged(self.ref, old, state, reason, at))
