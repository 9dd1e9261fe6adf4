"""One simulated phone: pairing, the linked page, queued deliveries, what the session sent."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.messages import Me
from engine.whatsapp.simulator.pairing import Pairing, PairingRefused

if TYPE_CHECKING:
    from engine.whatsapp.simulator.state import PageConfig

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
    """A message the session sent through ``sendTextMessage`` or ``sendFileMessage``."""

    to: str  # the contact's phone id when known, else the chat id
    chat: str  # the chat the send resolved (may be @lid)
    body: str
    id: str
    time: float
    result: str  # messageSendResult
    type: str = "chat"
    media: Json | None = None  # kind, mimetype, size, sha256, caption, filename of a file

    def as_json(self) -> Json:
        """The ``/sent`` entry; a file's adds its ``media`` fields (text rows are unchanged)."""
        row = {
            "to": self.to,
            "chat": self.chat,
            "body": self.body,
            "id": self.id,
            "time": self.time,
            "result": self.result,
            "type": self.type,
        }
        if self.media is not None:
            row.update(self.media)
        return row


@dataclass(slots=True)
class _Pending:
    message: Json
    pushed_to: PageLink | None = None


@dataclass(slots=True)
class Account:
    """What the linked device has stored (IndexedDB on the real page): it survives reloads
    and dies with a logout."""

    chats: set[str] = field(default_factory=set)
    contacts: dict[str, str] = field(default_factory=dict)  # id -> pushname
    lid_pn: dict[str, str] = field(default_factory=dict)  # lidPnCache: lid -> phone id

    def as_json(self) -> Json:
        """The part of the ``init`` push that restores the page's stores."""
        return {"chats": sorted(self.chats), "contacts": self.contacts, "lids": self.lid_pn}


@dataclass(slots=True)
class Phone:
    """State of ``<client>-<session>`` as WhatsApp's servers and the phone see it."""

    name: str
    qr_rotate_s: float
    qr_idle_after: int | None = None
    page: PageConfig | None = None
    number: str | None = None
    me_lid: str | None = None
    token: str | None = None
    dropped: bool = False
    banned: bool = False
    conflict: bool = False
    link: PageLink | None = None
    linked: bool = False
    pairing: Pairing = field(init=False)
    account: Account = field(default_factory=Account)
    ready_after_s: float = 0.0
    sent: list[SentRecord] = field(default_factory=list)
    # How many of the next downloads find nothing on the servers (``media-failures``).
    media_failures: int = 0
    _sends_flow: asyncio.Event = field(default_factory=_flowing)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _outbox: dict[int, _Pending] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        ttl_s = 195.0 if self.page is None else self.page.link_code_ttl_s
        self.pairing = Pairing(self.qr_rotate_s, self.qr_idle_after, ttl_s)

    @property
    def wid(self) -> str | None:
        """The paired phone's own id."""
        return None if self.number is None else f"{self.number}@c.us"

    @property
    def me(self) -> Me | None:
        """The account's phone id and LID, once paired."""
        if self.number is None or self.me_lid is None:
            return None
        return Me(f"{self.number}@c.us", f"{self.me_lid}@lid")

    @property
    def state(self) -> str:
        """``banned``, ``no_page``, ``qr``, ``offline``, ``conflict`` or ``connected``."""
        if self.banned:
            return "banned"
        if self.link is None:
            return "no_page"
        if not self.linked:
            return "qr"
        if self.dropped:
            return "offline"
        return "conflict" if self.conflict else "connected"

    def auth_code(self) -> Json | None:
        """The QR the page shows, or ``None`` when no page shows one."""
        return self.pairing.auth_code() if self.state == "qr" else None

    def describe(self) -> Json:
        """One entry of ``GET /control/sessions``."""
        code = self.auth_code()
        return {
            "name": self.name,
            "state": self.state,
            "phone": self.number,
            "lid": self.me_lid,
            "paired": self.token is not None,
            "page_connected": self.link is not None,
            "auth_code": None if code is None else code["fullCode"],
            "qr_idle": self.state == "qr" and self.pairing.idle,
            "link_code": None if self.linked else self.pairing.current_code(),
            "conflict": self.conflict,
            "queued": len(self._outbox),
            "sent": len(self.sent),
            "user_agent": None if self.link is None else self.link.user_agent,
        }

    def seconds_to_rotation(self, link: PageLink) -> float | None:
        """How long until the QR of ``link`` rotates; ``None`` when it shows no rotating QR."""
        if self.link is not link or self.linked or self.banned:
            return None
        return self.pairing.seconds_to_rotation()

    def _mode(self) -> Json:
        """Stream mode, stream info, network status and socket state
        (src/whatsapp/enums/StreamMode.ts, StreamInfo.ts, SOCKET_STATE.ts)."""
        if self.banned:
            return {"mode": "TOS_BLOCK", "info": "NORMAL", "online": True, "socket": "TOS_BLOCK"}
        if not self.linked:
            socket = "UNPAIRED_IDLE" if self.pairing.idle else "UNPAIRED"
            return {"mode": "QR", "info": "PAIRING", "online": True, "socket": socket}
        if self.dropped:
            return {"mode": "OFFLINE", "info": "OFFLINE", "online": False, "socket": "TIMEOUT"}
        if self.conflict:
            # "Open in another window": the stream stops; the network itself is fine.
            return {"mode": "CONFLICT", "info": "NORMAL", "online": True, "socket": "CONFLICT"}
        return {"mode": "MAIN", "info": "NORMAL", "online": True, "socket": "CONNECTED"}

    def _deliverable(self) -> bool:
        return self.link is not None and self.state == "connected"

    def _changed(self) -> None:
        if self._deliverable():
            self._connected.set()
        else:
            self._connected.clear()

    def _init_push(self, config: Json) -> Json:
        push: Json = {"type": "init", "linked": self.linked, **self._mode(), "config": config}
        push["ready_after_s"], self.ready_after_s = self.ready_after_s, 0.0
        if self.linked:
            push.update(phone=self.number, wid=self.wid, lid=f"{self.me_lid}@lid")
            push.update(self.account.as_json())
        else:
            push["auth"] = self.pairing.auth_code()
        return push

    async def attach(self, link: PageLink, token: str | None, config: Json) -> None:
        """A page loaded: it comes up linked when its token is valid, else with a fresh QR.
        The newest page wins; the one it replaces sees CONFLICT."""
        old, self.link = self.link, link
        if old is not None and old is not link:
            await old.push({"type": "conflict"})
            await old.close()
        self.linked = token is not None and token == self.token
        if not self.linked:
            self.pairing.new_page()
        self._changed()
        await link.push(self._init_push(config))
        await self._flush()

    def detach(self, link: PageLink) -> None:
        """The page went away; undelivered messages stay queued."""
        if self.link is link:
            self.link, self.linked = None, False
            self._changed()
            for pending in self._outbox.values():
                pending.pushed_to = None

    async def rotate(self) -> None:
        """The QR ref expired: show a new one, or go idle after enough unscanned ones."""
        if self.state != "qr" or self.link is None:
            return
        if self.pairing.expire_ref():
            await self.link.push({"type": "auth_code", "auth": self.pairing.auth_code()})
        else:
            await self.link.push({"type": "qr_idle", **self._mode()})

    async def refresh_qr(self) -> None:
        """``WPP.conn.refreshQR()`` (Cmd.refreshQR): a fresh ref, idle or not."""
        if self.state != "qr" or self.link is None:
            return
        self.pairing.restart()
        auth = self.pairing.auth_code()
        await self.link.push({"type": "auth_code", "auth": auth, **self._mode()})

    async def make_idle(self) -> None:
        """The shown QR goes idle now (control API ``qr-idle``)."""
        if self.state != "qr" or self.link is None:
            raise SimulatorError(409, f"{self.name} shows no QR (state: {self.state})")
        self.pairing.idle = True
        await self.link.push({"type": "qr_idle", **self._mode()})

    async def scan(self, number: str, code: str | None, *, lid: str | None) -> None:
        """The phone scans the QR (or enters the pairing code) shown by the page."""
        if self.state != "qr" or self.link is None:
            raise SimulatorError(
                409, f"no page is showing a QR for {self.name} (state: {self.state}); open it first"
            )
        try:
            if code is not None:
                self.pairing.check_code(number, code)
            elif self.pairing.idle:
                raise PairingRefused(
                    "the QR on screen is idle (expired): the page must call WPP.conn.refreshQR()"
                )
        except PairingRefused as exc:
            raise SimulatorError(409, f"{self.name}: {exc}") from None
        self.number, self.me_lid, self.token = number, lid or ids.new_lid(), ids.token()
        self.linked, self.account = True, Account()
        self.pairing.paired()
        self._changed()
        await self.link.push(
            {"type": "paired", "token": self.token, "phone": number, "wid": self.wid,
             "lid": f"{self.me_lid}@lid", **self._mode()}
        )  # fmt: skip
        await self._flush()

    async def logout(self, reason: str, *, notify: bool = True) -> None:
        """The device is unlinked: the token and the device's storage die. A linked page
        hears it (``notify``) and reloads itself to a fresh QR, as WhatsApp Web does."""
        was_linked = self.linked
        self.token, self.number, self.me_lid, self.linked = None, None, None, False
        self.account = Account()
        self._changed()
        if notify and self.link is not None and was_linked:
            await self.link.push({"type": "logout", "reason": reason})

    async def set_send_stall(self, stalled: bool) -> None:
        """Stall (``True``) or release the answers to sends: a message is delivered to the
        contact but the page hears nothing back, as when the network hangs mid-send."""
        if stalled:
            self._sends_flow.clear()
        else:
            self._sends_flow.set()

    async def set_dropped(self, dropped: bool) -> None:
        """Connection lost (``True``) or back (``False``)."""
        self.dropped = dropped
        await self._push_mode()

    async def set_conflict(self, conflict: bool) -> None:
        """WhatsApp opened in another window (``True``), or this page took over again."""
        if conflict and not self.linked:
            raise SimulatorError(409, f"{self.name} is not linked: a conflict needs a session")
        self.conflict = conflict
        await self._push_mode()

    async def take_over(self, link: PageLink, token: str | None, config: Json) -> None:
        """``Socket.takeover()`` on ``link``: it becomes the page in use."""
        if link is not self.link:
            await self.attach(link, token, config)
        await self.set_conflict(False)

    async def ban(self) -> None:
        """WhatsApp blocks the number (stream mode TOS_BLOCK)."""
        self.banned = True
        await self._push_mode()

    async def reload_page(self, ready_after_s: float = 0.0) -> None:
        """WhatsApp Web reloads itself (updates, logout): the page must re-arm everything.
        After the reload WA-JS needs ``ready_after_s`` before ``WPP.isReady``."""
        if self.link is None:
            raise SimulatorError(409, f"no page is open for {self.name}")
        self.ready_after_s = ready_after_s
        await self.link.push({"type": "reload"})

    async def freeze_page(self) -> None:
        """The page's script hangs (an endless loop): the engine's watchdog must notice."""
        if self.link is None:
            raise SimulatorError(409, f"no page is open for {self.name}")
        await self.link.push({"type": "freeze"})

    async def expire_link_code(self) -> None:
        """The current pairing code ends now; the page's managed flow refreshes or expires."""
        if self.linked or not self.pairing.void_code():
            raise SimulatorError(409, f"no pairing code is active on {self.name}")
        if self.link is not None:
            await self.link.push({"type": "link_code_timeout"})

    async def _push_mode(self) -> None:
        self._changed()
        if self.link is not None and self.linked:
            await self.link.push({"type": "stream", **self._mode()})
        await self._flush()

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

    async def send(self, record: SentRecord) -> SentRecord:
        """The page sends a message. WhatsApp Web keeps it (ack 0) while the stream is down
        and sends it once connected; then the answer may stall (``stall-sends``)."""
        if not self.linked:
            raise SimulatorError(409, f"{self.name} is not linked")
        await self._connected.wait()
        record.time = time.time()
        self.account.chats.add(record.chat)
        self.sent.append(record)
        await self._sends_flow.wait()
        return record

    def issue_link_code(self, number: str) -> str:
        """A pairing code for the phone-number flow."""
        if self.linked:
            raise SimulatorError(409, "cannot_get_code_for_already_authenticated")
        return self.pairing.issue_code(number)
