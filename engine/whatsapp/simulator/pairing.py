"""A phone's pairing side: the rotating QR (and when it goes idle) and pairing codes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.whatsapp.simulator import ids


class PairingRefused(Exception):
    """A scan or a code the phone cannot use; the text says why (a 409 in the control API)."""


@dataclass(slots=True)
class LinkCode:
    """A pairing code WhatsApp issued for one phone number."""

    code: str
    number: str
    issued_at: float  # time.monotonic()


@dataclass(slots=True)
class Pairing:
    """QR refs and pairing codes of the page currently showing the QR."""

    qr_rotate_s: float
    qr_idle_after: int | None
    link_code_ttl_s: float
    keys: ids.DeviceKeys = field(default_factory=ids.DeviceKeys.generate)
    ref: str = field(default_factory=ids.new_ref)
    next_rotation_at: float = 0.0
    rotations: int = 0
    idle: bool = False
    link_code: LinkCode | None = None

    def new_page(self) -> None:
        """A page loaded: fresh key pairs (they are fixed per page load) and a fresh ref."""
        self.keys = ids.DeviceKeys.generate()
        self.restart()

    def restart(self) -> None:
        """A fresh ref and a full set of rotations (a page load, or ``refreshQR``)."""
        self.rotations, self.idle = 0, False
        self._new_ref()

    def _new_ref(self) -> None:
        self.ref = ids.new_ref()
        self.next_rotation_at = time.monotonic() + self.qr_rotate_s

    def expire_ref(self) -> bool:
        """The shown ref expired: rotate (``True``), or go idle once ``qr_idle_after``
        rotations went unscanned (``False``), as WhatsApp Web stops offering QRs and the
        socket goes UNPAIRED_IDLE (registerQRCodeIdleEvent.ts, isIdle.ts)."""
        if self.qr_idle_after is not None and self.rotations >= self.qr_idle_after:
            self.idle = True
            return False
        self.rotations += 1
        self._new_ref()
        return True

    def seconds_to_rotation(self) -> float | None:
        """How long the shown ref lives; ``None`` while idle (nothing rotates)."""
        if self.idle:
            return None
        # aiohttp treats a zero receive timeout as "no timeout": keep it positive.
        return max(0.001, self.next_rotation_at - time.monotonic())

    def auth_code(self) -> dict[str, str]:
        """``WPP.conn.getAuthCode()`` of the shown ref."""
        return self.keys.auth_code(self.ref)

    def issue_code(self, number: str) -> str:
        """A new pairing code for ``number``; it replaces any earlier one."""
        self.link_code = LinkCode(ids.link_code(), number, time.monotonic())
        return self.link_code.code

    def current_code(self) -> str | None:
        """The code a phone may still type, if any (WhatsApp's codes live ``link_code_ttl_s``)."""
        code = self.link_code
        if code is None or time.monotonic() - code.issued_at >= self.link_code_ttl_s:
            return None
        return code.code

    def void_code(self) -> bool:
        """End the current code now; ``False`` when there was none."""
        had = self.current_code() is not None
        self.link_code = None
        return had

    def check_code(self, number: str, code: str) -> None:
        """Refuse a code that is not the current one for ``number``."""
        current = self.current_code()
        if current is None:
            raise PairingRefused(f"pairing code {code!r} is not valid: no code is active")
        if code != current:
            raise PairingRefused(f"pairing code {code!r} is not the current code")
        assert self.link_code is not None
        if number != self.link_code.number:
            raise PairingRefused(
                f"pairing code {code!r} was issued for +{self.link_code.number}, not +{number}"
            )

    def paired(self) -> None:
        """Linked: codes and idleness are over."""
        self.link_code, self.idle, self.rotations = None, False, 0
