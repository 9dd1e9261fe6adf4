"""One simulated phone: pairing, the linked page, queued deliveries, what the session sent."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.whatsapp.simulator import ids

logger = logging.getLogger(__name__)

Json = dict[str, Any]


class SimulatorError(Exception):
    """A control or page request the simulator refuses; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class PageLink(Protocol):
    """A connected simulated WhatsApp Web page."""

    user_agent: str

    async def push(self, message: Json) -> None:
        """Send one message to the page."""
        ...

    async def close(self) -> None:
        """Disconnect the page."""
        ...


def _flowing() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass(slots=True)
class SentRecord:
    """A message the session sent through ``sendTextMessage``."""

    to: str
    body: str
    id: str
    time: float

    def as_json(self) -> Json:
        """The ``/sent`` entry."""
        return {"to": self.to, "body": self.body, "id": self.id, "time": self.time}


@dataclass(slots=True)
class _Pending:
    message: Json
    pushed_to: PageLink | None = None


@dataclass(slots=True)
class Phone:
    """State of ``<client>-<session>`` as WhatsApp's servers and the phone see it."""

    name: str
    qr_rotate_s: float
    number: str | None = None
    token: str | None = None
    dropped: bool = False
    banned: bool = False
    _sends_flow: asyncio.Event = field(default_factory=_flowing)
    link: PageLink | None = None
    linked: bool = False
    keys: ids.DeviceKeys = field(default_factory=ids.DeviceKeys.generate)
    ref: str = field(default_factory=ids.new_ref)
    next_rotation_at: float = 0.0
    issued_link_code: str | None = None
    sent: list[SentRecord] = field(default_factory=list)
    _outbox: dict[int, _Pending] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def wid(self) -> str | None:
        """The paired phone's own id."""
        return None if self.number is None else f"{self.number}@c.us"

    @property
    def state(self) -> str:
        """``banned``, ``no_page``, ``qr``, ``offline`` or ``connected``."""
        if self.banned:
            return "banned"
        if self.link is None:
            return "no_page"
        if not self.linked:
            return "qr"
        return "offline" if self.dropped else "connected"

    def auth_code(self) -> Json | None:
        """The QR the page shows, or ``None`` when no page shows one."""
        return self.keys.auth_code(self.ref) if self.state == "qr" else None

    def describe(self) -> Json:
        """One entry of ``GET /control/sessions``."""
        code = self.auth_code()
        return {
            "name": self.name,
            "state": self.state,
            "phone": self.number,
            "paired": self.token is not None,
            "page_connected": self.link is not None,
            "auth_code": None if code is None else code["fullCode"],
            "queued": len(self._outbox),
            "sent": len(self.sent),
            "user_agent": None if self.link is None else self.link.user_agent,
        }

    def seconds_to_rotation(self, link: PageLink) -> float | None:
        """How long until the QR of ``link`` rotates; ``None`` when it shows no QR."""
        if self.link is not link or self.linked:
            return None
        # aiohttp treats a zero receive timeout as "no timeout": keep it positive.
        return max(0.001, self.next_rotation_at - time.monotonic())

    def _mode(self) -> Json:
        if self.banned:
            return {"mode": "TOS_BLOCK", "info": "NORMAL", "online": True}
        if self.dropped:
            return {"mode": "OFFLINE", "info": "OFFLINE", "online": False}
        return {"mode": "MAIN", "info": "NORMAL", "online": True}

    def _deliverable(self) -> bool:
        return self.link is not None and self.linked and not self.dropped and not self.banned

    async def attach(self, link: PageLink, token: str | None) -> None:
        """A page loaded: it comes up linked when its token is valid, else with a fresh QR."""
        old, self.link = self.link, link
        if old is not None:
            await old.push({"type": "conflict"})
            await old.close()
        self.keys = ids.DeviceKeys.generate()
        self.linked = token is not None and token == self.token
        if self.linked:
            await link.push(
                {"type": "session", "phone": self.number, "wid": self.wid, **self._mode()}
            )
            await self._flush()
        else:
            await self._new_qr("qr")

    def detach(self, link: PageLink) -> None:
        """The page went away; undelivered messages stay queued."""
        if self.link is link:
            self.link, self.linked = None, False
            for pending in self._outbox.values():
                pending.pushed_to = None

    async def _new_qr(self, kind: str, **extra: Any) -> None:
        self.ref = ids.new_ref()
        self.next_rotation_at = time.monotonic() + self.qr_rotate_s
        if self.link is not None:
            await self.link.push({"type": kind, "auth": self.keys.auth_code(self.ref), **extra})

    async def rotate(self) -> None:
        """The QR ref expired: show a new one."""
        if self.state == "qr":
            await self._new_qr("auth_code")

    async def scan(self, number: str, code: str | None) -> None:
        """The phone scans the QR (or enters the pairing code) shown by the page."""
        if self.state != "qr" or self.link is None:
            raise SimulatorError(
                409, f"no page is showing a QR for {self.name} (state: {self.state}); open it first"
            )
        if code is not None and code != self.issued_link_code:
            raise SimulatorError(409, f"pairing code {code!r} was not issued by {self.name}")
        self.number, self.token, self.linked = number, ids.token(), True
        self.issued_link_code = None
        await self.link.push(
            {"type": "paired", "token": self.token, "phone": number, "wid": self.wid}
        )
        await self._flush()

    async def logout(self, reason: str) -> None:
        """The device is unlinked: the token dies and a linked page returns to a fresh QR."""
        was_linked = self.linked
        self.token, self.number, self.linked = None, None, False
        if self.link is not None and was_linked:
            await self._new_qr("logout", reason=reason)

    async def set_send_stall(self, stalled: bool) -> None:
        """Stall (``True``) or release the answers to sends: a message is delivered to the
        contact but the page hears nothing back, as when the network hangs mid-send."""
        if stalled:
            self._sends_flow.clear()
        else:
            self._sends_flow.set()

    async def send_answer_released(self) -> None:
        """Wait while sends are stalled."""
        await self._sends_flow.wait()

    async def set_dropped(self, dropped: bool) -> None:
        """Connection lost (``True``) or back (``False``)."""
        self.dropped = dropped
        await self._push_mode()
        if not dropped:
            await self._flush()

    async def ban(self) -> None:
        """WhatsApp blocks the number (stream mode TOS_BLOCK)."""
        self.banned = True
        await self._push_mode()

    async def reload_page(self) -> None:
        """WhatsApp Web reloads itself (updates, logout): the page must re-arm everything."""
        if self.link is None:
            raise SimulatorError(409, f"no page is open for {self.name}")
        await self.link.push({"type": "reload"})

    async def freeze_page(self) -> None:
        """The page's script hangs (an endless loop): the engine's watchdog must notice."""
        if self.link is None:
            raise SimulatorError(409, f"no page is open for {self.name}")
        await self.link.push({"type": "freeze"})

    async def _push_mode(self) -> None:
        if self.link is not None and self.linked:
            await self.link.push({"type": "stream", **self._mode()})

    async def deliver(self, message: Json) -> None:
        """Queue a push (message or ack) for the page; it stays queued until confirmed."""
        seq = next(self._seq)
        self._outbox[seq] = _Pending({**message, "seq": seq})
        await self._flush()

    def confirm(self, seq: int) -> None:
        """The page processed push ``seq``."""
        self._outbox.pop(seq, None)

    async def _flush(self) -> None:
        if not self._deliverable() or self.link is None:
            return
        link = self.link
        for pending in list(self._outbox.values()):
            if pending.pushed_to is not link:
                pending.pushed_to = link
                await link.push(pending.message)

    def record_send(self, to: str, body: str, raw_id: str) -> SentRecord:
        """The session sent a message; refuse while offline, banned or unlinked."""
        if not self.linked or self.banned:
            raise SimulatorError(409, f"{self.name} is not linked")
        if self.dropped:
            raise SimulatorError(409, "offline: the phone has no connection")
        record = SentRecord(to, body, ids.serialized_key(True, to, raw_id), time.time())
        self.sent.append(record)
        return record

    def issue_link_code(self) -> str:
        """A pairing code for the phone-number flow."""
        if self.linked:
            raise SimulatorError(409, "cannot_get_code_for_already_authenticated")
        self.issued_link_code = ids.link_code()
        return self.issued_link_code
