"""What one session's pairing is doing: QR rotations counted against the limit, the managed
pairing-code flow, and a QR that went idle.

The runner owns one `Pairing` and tells it what the driver reported; it publishes the engine
events operators see (`QrUpdated`, `PairingCodeIssued`, ...) and answers whether the pairing has
run out. WA-JS facts it relies on are cited where they matter.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from engine.events import (
    EventBus,
    PairingCodeExpired,
    PairingCodeFailed,
    PairingCodeIssued,
    QrExpired,
    QrUpdated,
    SessionRef,
)
from engine.whatsapp.driver import WhatsAppDriver

logger = logging.getLogger(__name__)


@dataclass
class CodeFlow:
    """One `/pair --code` request: its phone, the codes issued so far and the last one."""

    phone: str
    issued: int = 0
    last: str | None = None
    requesting: bool = True


class Pairing:
    """The pairing state of one session; reset for every page and every `/pair`."""

    def __init__(self, ref: SessionRef, bus: EventBus, max_qr_attempts: int) -> None:
        self._ref = ref
        self._bus = bus
        self._max_qr_attempts = max_qr_attempts
        self.qr_attempts = 0
        self.last_qr: str | None = None
        self.code: CodeFlow | None = None
        self.idle = False
        self.idle_deadline: float | None = None
        self.qr_shown = asyncio.Event()  # set once the current request's QR was published

    def clear(self) -> None:
        """A new page, a link or a logout: nothing is in flight any more."""
        self.restart_qr()
        self.code = None
        self.idle = False
        self.idle_deadline = None

    def restart_qr(self) -> None:
        """Someone asked for the QR again: its rotations count from zero."""
        self.qr_attempts = 0
        self.last_qr = None
        self.qr_shown.clear()

    @property
    def exhausted(self) -> bool:
        return self.qr_attempts >= self._max_qr_attempts

    async def rotated(self, code: str) -> bool:
        """A new QR; False (and `QrExpired` published) when the allowed rotations are used up.

        While a code flow is active the QR still rotates under the code screen (WA-JS keeps
        the ref rotating, ``conn/events/registerAuthCodeChangeEvent.ts``): it is neither shown
        nor counted, since the person is typing a code, not scanning.
        """
        self.idle = False
        self.idle_deadline = None
        if self.code is not None:
            self.last_qr = code
            return True
        if code == self.last_qr:
            return True  # WA-JS repeats the current code on injection; one rotation, one event
        if self.exhausted:
            await self._bus.publish(QrExpired(self._ref))
            return False
        await self.publish_qr(code)
        return True

    async def publish_qr(self, code: str) -> None:
        """Push `code` to whoever asked (once per distinct code), counting one attempt."""
        if code == self.last_qr:
            return
        self.last_qr = code
        self.qr_attempts += 1
        self.qr_shown.set()
        await self._bus.publish(QrUpdated(self._ref, code, self.qr_attempts, self._max_qr_attempts))

    async def went_idle(self, now: float, keep_s: float) -> None:
        """The QR stopped rotating (``conn.qrcode_idle``: WhatsApp's own end of the QR).

        Outside a code flow this is the pairing's expiry: operators are told at once, and the
        page waits `keep_s` for someone to ask again (``refresh_qr``) before the runner parks.
        """
        self.idle = True
        if self.code is not None:
            return  # the code flow has its own expiry (``conn.link_code_expired``)
        await self.expire(now, keep_s)

    async def expire(self, now: float, keep_s: float) -> None:
        """Tell operators nobody paired in time; the page is kept `keep_s` for a new `/pair`."""
        self.idle_deadline = now + keep_s
        await self._bus.publish(QrExpired(self._ref))

    # -- the managed pairing-code flow (WA-JS ``conn/functions/linkDeviceCodeLifecycle.ts``) --

    async def request_code(self, driver: WhatsAppDriver, phone: str) -> str:
        """Start the managed flow for `phone` (``startLinkDeviceCodeForPhoneNumber``): its
        first code; renewals follow as ``LinkCodeChanged``. The same phone again gets the
        current code back (WA-JS reuses it), another phone replaces the flow."""
        if self.idle:
            # An idle QR means a closed pairing socket (src/conn/functions/isIdle.ts,
            # UNPAIRED_IDLE): open it again before asking for a code on it.
            await driver.refresh_qr()
            self.idle = False
        flow = self.code = CodeFlow(phone)
        self.idle_deadline = None
        try:
            code = await driver.request_pairing_code(phone)
        except BaseException:
            if self.code is flow:
                self.code = None
            raise
        flow.requesting = False
        await self.code_issued(code)
        return code

    async def fresh_qr(self, driver: WhatsAppDriver) -> str | None:
        """The QR for a plain `/pair`, counted from one again: a code flow is cancelled, an
        idle QR refreshed; ``None`` when the session is linked after all."""
        if self.cancel_code():
            await driver.cancel_pairing_code()
        idle = self.idle
        self.clear()  # before the refresh: its rotation event is this request's first QR
        if idle:
            await driver.refresh_qr()  # WA-JS conn/functions/refreshQR.ts waits for the new ref
        qr = await driver.auth_code()
        if qr is not None:
            await self.publish_qr(qr)
        return qr

    async def code_issued(self, code: str) -> None:
        """A code for the active flow: the first one and every automatic renewal.

        WA-JS emits ``conn.link_code_change`` for the first code too, so the code the driver
        call returns and the event for it are the same code: published once.
        """
        flow = self.code
        if flow is None or code == flow.last:
            return
        flow.last = code
        flow.issued += 1
        await self._bus.publish(PairingCodeIssued(self._ref, flow.phone, code, flow.issued))

    async def code_expired(self, now: float, keep_s: float) -> None:
        """The renewals ran out (``conn.link_code_expired``); back to counting QR rotations."""
        flow, self.code = self.code, None
        if flow is None:
            return
        await self._bus.publish(PairingCodeExpired(self._ref, flow.phone))
        await self._after_code(now, keep_s)

    async def code_failed(self, message: str, now: float, keep_s: float) -> None:
        """``conn.link_code_error``; during the request itself the caller gets the error."""
        flow = self.code
        if flow is None or flow.requesting:
            return
        self.code = None
        await self._bus.publish(PairingCodeFailed(self._ref, flow.phone, message))
        await self._after_code(now, keep_s)

    def cancel_code(self) -> bool:
        """Forget the flow (a plain `/pair` asked for the QR); True when one was active."""
        active, self.code = self.code is not None, None
        return active

    async def _after_code(self, now: float, keep_s: float) -> None:
        if self.idle:
            await self.expire(now, keep_s)  # the QR under the code screen is idle too
