"""One life of a session: a launched driver supervised until it must go.

A `Life` follows the driver's events, reads its link status, runs the watchdog and returns an
`Exit` saying why the page has to close. What outlives one page (the state, whether the number
was paired, a take-over asked for while the browser was closed) belongs to the runner, reached
through `Host`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from engine.events import EventBus, InboundReceived, ReceiptUpdated, SessionRef
from engine.session.catch_up import CatchUp
from engine.session.pairing import Pairing
from engine.session.policy import Exit, ExitKind, SessionPolicy, describe
from engine.tasks import TaskOwner
from engine.whatsapp.driver import WhatsAppDriver
from engine.whatsapp.errors import NotInConflict, WhatsAppError
from engine.whatsapp.types import (
    AckChanged,
    Authenticated,
    BrowserClosed,
    DriverEvent,
    LinkCodeChanged,
    LinkCodeExpired,
    LinkCodeFailed,
    LoggedOut,
    MessageReceived,
    OnlineChanged,
    PageCrashed,
    PageReady,
    QrCodeChanged,
    QrIdle,
    StreamMode,
    StreamModeChanged,
)
from storage.records import SessionState

logger = logging.getLogger(__name__)

S = SessionState
SHOWING_QR = (S.QR_PENDING, S.LOGGED_OUT)


class Stop:
    """Leave now (the runner stops)."""


class Recheck:
    """Read the link status again (after a pairing request or a take-over)."""


Signal = DriverEvent | Stop | Recheck


class Host(Protocol):
    """What a life needs from its runner."""

    ref: SessionRef
    state: SessionState
    paired_before: bool
    take_over_asked: bool

    async def set_state(self, state: SessionState, reason: str | None) -> None: ...

    async def save_phone(self, me: str | None) -> None: ...


class Life:
    """Supervises one driver; `run()` returns why it has to close."""

    def __init__(
        self,
        host: Host,
        driver: WhatsAppDriver,
        pairing: Pairing,
        bus: EventBus,
        policy: SessionPolicy,
        catch_up: CatchUp,
    ) -> None:
        self.driver = driver
        self._host = host
        self._pairing = pairing
        self._bus = bus
        self._policy = policy
        self._inbox: asyncio.Queue[Signal] = asyncio.Queue()
        self._offline_since: float | None = None
        self._login_deadline: float | None = None
        self._loading_since: float | None = None
        self._logout_until: float | None = None
        self.page_ready = asyncio.Event()  # the last status read worked (not mid-reload)
        self._catch_up = catch_up
        self._catching: asyncio.Task[None] | None = None
        self._tasks = TaskOwner(f"life:{host.ref}")

    def push(self, signal: Signal) -> None:
        self._inbox.put_nowait(signal)

    async def on_driver_event(self, event: DriverEvent) -> None:
        """Driver callback: messages and receipts go straight out; the rest to the supervisor."""
        ref = self._host.ref
        if isinstance(event, MessageReceived):
            await self._bus.publish(InboundReceived(ref, event.message))
        elif isinstance(event, AckChanged):
            await self._bus.publish(ReceiptUpdated(ref, event.ids, event.ack))
        else:
            self.push(event)

    async def close(self) -> None:
        """The page is about to close: stop a catch-up still reading it (the next connect,
        in this process or the next, catches up again)."""
        await self._tasks.shutdown(grace_s=0)

    def reloading(self) -> None:
        """A call failed as if the page were reloading: `page_ready` waits for the next status
        read that works (after PageReady at the latest)."""
        self.page_ready.clear()
        self.push(Recheck())

    def logging_out(self, active: bool) -> None:
        """An operator's logout is under way (or failed): until the page shows the QR, for at
        most `reload_timeout_s`, what it reports on its way out is not a lost connection."""
        self._logout_until = time.monotonic() + self._policy.reload_timeout_s if active else None
        if not active:
            self.push(Recheck())

    async def run(self) -> Exit:
        exit_ = await self._check_status()
        if exit_ is not None:
            return exit_
        interval_s = self._policy.watchdog_interval_s
        next_watch = time.monotonic() + interval_s
        while True:
            wait_s = max(0.0, next_watch - time.monotonic())
            try:
                async with asyncio.timeout(wait_s):
                    signal = await self._inbox.get()
            except TimeoutError:
                next_watch = time.monotonic() + interval_s
                exit_ = await self._watchdog()
            else:
                exit_ = await self._handle(signal)
            if exit_ is not None:
                return exit_

    async def _watchdog(self) -> Exit | None:
        now = time.monotonic()
        if not await self.driver.is_alive(self._policy.alive_timeout_s):
            return Exit(ExitKind.TRANSIENT, "the WhatsApp page stopped answering")
        if self._loading_since is not None:
            return await self._check_status()  # still loading? (bounded in there)
        if (
            self._offline_since is not None
            and now - self._offline_since > self._policy.offline_reload_s
        ):
            return Exit(ExitKind.TRANSIENT, "offline for too long")
        if self._login_deadline is not None and now > self._login_deadline:
            return Exit(ExitKind.TRANSIENT, "login did not finish in time")
        idle_deadline = self._pairing.idle_deadline
        if idle_deadline is not None and now > idle_deadline and self._host.state in SHOWING_QR:
            return Exit(ExitKind.WAIT_PAIRING, "the QR expired and nobody asked for a new one")
        return None

    async def _handle(self, signal: Signal) -> Exit | None:
        host, pairing, keep_s = self._host, self._pairing, self._policy.qr_idle_keep_s
        match signal:
            case Stop():
                return Exit(ExitKind.STOP, "stopped")
            case PageCrashed():
                return Exit(ExitKind.TRANSIENT, "the WhatsApp page crashed")
            case BrowserClosed():
                return Exit(ExitKind.TRANSIENT, "the browser closed unexpectedly")
            case LoggedOut(reason=reason):
                host.paired_before = True
                pairing.clear()
                await host.set_state(S.LOGGED_OUT, f"logged out ({reason or 'by the phone'})")
            case StreamModeChanged(mode=mode) if mode.is_banned:
                return Exit(ExitKind.BANNED, f"WhatsApp blocked the number ({mode})")
            case QrCodeChanged(code=str(code)):
                if host.state in SHOWING_QR and not await pairing.rotated(code):
                    return Exit(ExitKind.WAIT_PAIRING, "the QR expired unscanned; pair again")
            case QrIdle():
                if host.state in SHOWING_QR:
                    await pairing.went_idle(time.monotonic(), keep_s)
            case LinkCodeChanged(code=code):
                await pairing.code_issued(code)
            case LinkCodeExpired():
                await pairing.code_expired(time.monotonic(), keep_s)
            case LinkCodeFailed(message=message):
                await pairing.code_failed(message, time.monotonic(), keep_s)
            case PageReady():
                self._loading_since = None  # the reload is over: WA-JS is ready again
                return await self._check_status()
            case (
                QrCodeChanged()
                | Authenticated()
                | StreamModeChanged()
                | OnlineChanged()
                | Recheck()
            ):
                return await self._check_status()
        return None

    async def _check_status(self) -> Exit | None:
        """Read the link status and move the state machine to match it."""
        host = self._host
        try:
            # A status read is a liveness probe too: a hung page must not hold the supervisor.
            async with asyncio.timeout(self._policy.alive_timeout_s):
                status = await self.driver.status()
        except (TimeoutError, WhatsAppError) as exc:
            return await self._still_loading(describe(exc))
        now = time.monotonic()
        self._loading_since = None
        self.page_ready.set()
        if status.mode.is_banned:
            return Exit(ExitKind.BANNED, f"WhatsApp blocked the number ({status.mode})")
        if self._logout_until is not None:
            if status.mode is not StreamMode.QR and now < self._logout_until:
                return None  # an operator's logout: the page is on its way to a new QR
            self._logout_until = None
        if status.mode is StreamMode.CONFLICT:
            return await self._conflict()
        if status.logged_in and status.online:
            host.paired_before = True
            host.take_over_asked = False
            self._offline_since = self._login_deadline = None
            self._pairing.clear()  # WA-JS cancels a code flow on conn.authenticated
            await host.save_phone(status.me)
            connecting = host.state is not S.CONNECTED
            await host.set_state(S.CONNECTED, None)
            if connecting:
                self._start_catch_up()
        elif status.mode is StreamMode.QR:
            self._login_deadline = None
            if host.state not in SHOWING_QR:
                pending = S.LOGGED_OUT if host.paired_before else S.QR_PENDING
                await host.set_state(pending, "waiting for the QR to be scanned")
                code = await self.driver.auth_code()
                if code is not None and not await self._pairing.rotated(code):
                    return Exit(ExitKind.WAIT_PAIRING, "the QR expired unscanned; pair again")
        elif status.logged_in or host.state is S.CONNECTED:
            self._offline_since = self._offline_since or now
            reason = f"connection lost ({status.mode}, {status.info})"
            await host.set_state(S.DISCONNECTED, reason)
        else:
            # Authenticated but still syncing: give it a bounded time to reach MAIN.
            self._login_deadline = self._login_deadline or now + self._policy.login_timeout_s
        return None

    def _start_catch_up(self) -> None:
        """After each connect (a new page, or the same one back from offline or a reload, which
        may have cut an event short): what the page got that never reached us (catch_up.py).
        It runs beside the supervisor, which must keep answering while the page is read."""
        if self._catching is None or self._catching.done():
            self._catching = self._tasks.spawn(f"catch-up:{self._host.ref}", self._caught_up())

    async def _caught_up(self) -> None:
        try:
            await self._catch_up.run(self.driver)
        except WhatsAppError as exc:
            logger.warning("session %s: catch-up failed: %s", self._host.ref, exc)

    async def _conflict(self) -> Exit | None:
        """Stream CONFLICT: WhatsApp is open in another window. No timer restarts the page and
        nothing takes over unless an operator asked (then this page does it, once)."""
        self._offline_since = self._login_deadline = None
        if self._host.take_over_asked:
            self._host.take_over_asked = False
            with contextlib.suppress(NotInConflict):  # it moved on: the recheck reads where
                await self.driver.take_over()
            self.push(Recheck())
            return None
        await self._host.set_state(S.CONFLICT, "WhatsApp is open in another window")
        return None

    async def _still_loading(self, why: str) -> Exit | None:
        """A status read failed: a page that still answers is loading (WA-JS not ready yet
        after a reload), for at most `reload_timeout_s`; one that does not is dead."""
        now = time.monotonic()
        self.page_ready.clear()
        if not await self.driver.is_alive(self._policy.alive_timeout_s):
            return Exit(ExitKind.TRANSIENT, f"the WhatsApp page stopped answering ({why})")
        if self._loading_since is None:
            self._loading_since = now
            logger.info("session %s: WhatsApp Web is loading (%s)", self._host.ref, why)
        elif now - self._loading_since > self._policy.reload_timeout_s:
            limit_s = self._policy.reload_timeout_s
            return Exit(
                ExitKind.TRANSIENT, f"WhatsApp Web did not finish loading in {limit_s:g} s ({why})"
            )
        return None
