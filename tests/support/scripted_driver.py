"""A WhatsApp driver faked at its port, for the supervision state machine without a browser.

It follows the `WhatsAppDriver` protocol (engine/whatsapp/driver.py) and, behind it, what the
WA-JS 4.6.0 source says the page does; each rule cites its file under src/. It never answers
the way the runner would like: a test scripts the world (the phone scans, the QR rotates or goes
idle, WhatsApp opens elsewhere, the page reloads) and the fake reports it as the driver would.

`FakeAccount` is what outlives one page: the profile's pairing, a conflict held by another
window. Every driver made by `FakeAccount.driver()` is one page load of that account.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from engine.whatsapp.errors import (
    MediaUnavailable,
    NotInConflict,
    NotLoggedIn,
    SessionLost,
    WhatsAppError,
)
from engine.whatsapp.types import (
    Authenticated,
    Backlog,
    DriverEvent,
    EventSink,
    LinkCodeChanged,
    LinkCodeExpired,
    LinkCodeFailed,
    LinkStatus,
    LoggedOut,
    MessageReceived,
    NumberInfo,
    OutgoingMedia,
    PageReady,
    QrCodeChanged,
    QrIdle,
    SentMessage,
    StreamMode,
    StreamModeChanged,
)
from engine.whatsapp.types import InboundMessage as Message

# src/conn/functions/linkDeviceCodeLifecycle.ts: MAX_AUTO_REFRESHES
MAX_AUTO_REFRESHES = 5


@dataclass
class FakeAccount:
    """The profile and WhatsApp's side of it, shared by the pages (drivers) made from it."""

    phone: str = "5491100000001"
    linked: bool = False
    conflict: bool = False  # another window holds the session until this page takes over
    refuse_codes: bool = False  # WhatsApp answers genLinkDeviceCodeForPhoneNumber with an error
    ready_after_load_s: float = 0.0  # how long WA-JS needs after the next self-reload
    grace_s: float = 60.0  # the driver's is_alive grace after a load (DriverConfig.ready_timeout_s)
    drivers: list[ScriptedDriver] = field(default_factory=list)
    # WhatsApp Web's MsgStore, persisted in the profile's IndexedDB: it survives every page.
    store: list[Message] = field(default_factory=list)
    # WhatsApp's media servers: the file of each media message by its id (``download_media``),
    # and codes the next downloads fail with, first one first (``media_not_found``, ...).
    files: dict[str, bytes] = field(default_factory=dict)
    download_failures: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)  # ids asked for, in order
    # What send_media sent (chat, media, caption), and errors the next sends raise instead.
    sent_media: list[tuple[str, OutgoingMedia, str]] = field(default_factory=list)
    send_media_errors: list[WhatsAppError] = field(default_factory=list)
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def driver(self) -> ScriptedDriver:
        made = ScriptedDriver(self)
        self.drivers.append(made)
        return made

    @property
    def page(self) -> ScriptedDriver:
        """The page open now (the last one started and not stopped)."""
        live = [d for d in self.drivers if d.started and not d.stopped]
        assert live, "no page is open"
        return live[-1]

    def new_ref(self) -> str:
        return f"ref-{next(self._refs)}"


class ScriptedDriver:
    """One page of `FakeAccount`; the `phone_*` and `whatsapp_*` methods script the world."""

    def __init__(self, account: FakeAccount) -> None:
        self.account = account
        self.started = self.stopped = False
        self.calls: list[str] = []
        self._sink: EventSink | None = None
        self._queue: asyncio.Queue[DriverEvent | None] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._ref: str | None = None
        self._idle = False
        self._link_phone: str | None = None
        self._link_code: str | None = None
        self._refreshes = 0
        self._codes = itertools.count(1)
        self._ready_at = 0.0  # time.monotonic() from which WA-JS is ready (after a reload)
        self._loaded_at = 0.0
        self.frozen = False
        self.online = True
        self._forwarded: set[str] = set()  # `delivered` in bridge/inbound.js: handed over

    # -- the protocol -------------------------------------------------------------------

    async def start(self, events: EventSink) -> None:
        self.calls.append("start")
        self._sink = events
        self._pump = asyncio.get_running_loop().create_task(self._deliver())
        self.started = True
        self._load(0.0)  # the driver's start waits for WPP.isReady itself

    async def stop(self) -> None:
        self.calls.append("stop")
        self.stopped = True
        if self._pump is not None:
            self._queue.put_nowait(None)
            await self._pump
            self._pump = None

    async def status(self) -> LinkStatus:
        self._answering()
        mode = self._mode()
        return LinkStatus(
            logged_in=self.account.linked and mode is StreamMode.MAIN,
            mode=mode,
            info="NORMAL",
            online=self.online,
            me=f"{self.account.phone}@c.us" if self.account.linked else None,
        )

    async def auth_code(self) -> str | None:
        # src/conn/functions/getAuthCode.ts: null once authenticated or registered.
        self._answering()
        return None if self.account.linked else self._ref

    async def refresh_qr(self) -> None:
        # src/conn/functions/refreshQR.ts: null when authenticated, else Cmd.refreshQR() and it
        # resolves with the next conn.auth_code_change.
        self._answering()
        self.calls.append("refresh_qr")
        if self.account.linked:
            return
        self._idle = False
        self._new_qr()

    async def request_pairing_code(self, phone: str) -> str:
        # src/conn/functions/linkDeviceCodeLifecycle.ts startLinkDeviceCodeForPhoneNumber: the
        # same phone reuses the active code; another phone cancels the flow first; the new code
        # is emitted as conn.link_code_change too. genLinkDeviceCodeForPhoneNumber.ts throws
        # cannot_get_code_for_already_authenticated once authenticated.
        self._answering()
        self.calls.append(f"request_pairing_code:{phone}")
        if self.account.linked:
            raise WhatsAppError("startLinkCode: Can't get code for already authenticated user")
        if self.account.refuse_codes:
            # startLinkDeviceCodeForPhoneNumber: emitError(conn.link_code_error), then rethrow.
            self._emit(LinkCodeFailed("WhatsApp refused the code"))
            raise WhatsAppError("startLinkCode: WhatsApp refused the code (error)")
        if phone == self._link_phone and self._link_code is not None:
            return self._link_code
        self._link_phone, self._refreshes = phone, 0
        return self._new_code()

    async def cancel_pairing_code(self) -> None:
        # linkDeviceCodeLifecycle.ts cancelLinkDeviceCode: no more codes or events.
        self._answering()
        self.calls.append("cancel_pairing_code")
        self._link_phone = self._link_code = None

    async def take_over(self) -> None:
        # src/whatsapp/models/SocketModel.ts takeover(): the stream leaves CONFLICT for MAIN.
        self._answering()
        self.calls.append("take_over")
        if self._mode() is not StreamMode.CONFLICT:
            raise NotInConflict(f"the stream is {self._mode()}, not CONFLICT")
        self.account.conflict = False
        self._emit(StreamModeChanged(StreamMode.MAIN, "NORMAL"))

    async def logout(self) -> None:
        # src/conn/functions/logout.ts: Socket.logout() and wait for Cmd 'logout'; the bridge
        # forwards conn.logout, then WhatsApp Web reloads itself to a new QR.
        self._answering()
        self.calls.append("logout")
        if not self.account.linked:
            raise NotLoggedIn("session is not linked")
        self.account.linked = False
        self.account.store.clear()  # an unlinked device's storage goes with it
        self._emit(LoggedOut("user_initiated"))
        self.whatsapp_reloads()

    async def send_text(self, chat_id: str, text: str, *, typing_ms: int = 0) -> SentMessage:
        self._answering()
        if not self.account.linked or self._mode() is not StreamMode.MAIN:
            raise NotLoggedIn("session is not linked and connected")
        return SentMessage(f"true_{chat_id}_3EB0{len(self.calls):08X}", 1, chat_id, time.time())

    async def download_media(self, message_id: str, *, max_bytes: int) -> bytes:
        # downloadMedia.ts: msg_not_found, message_not_contains_media, media_not_found; the size
        # is checked before a byte is read (bridge/media.js mediaOpen).
        self._answering()
        self.account.downloads.append(message_id)
        if self.account.download_failures:
            code = self.account.download_failures.pop(0)
            raise MediaUnavailable(code, f"download of {message_id} failed (scripted)")
        if message_id not in self.account.files:
            raise MediaUnavailable("msg_not_found", f"Message {message_id} not found")
        data = self.account.files[message_id]
        if len(data) > max_bytes:
            raise MediaUnavailable("too_large", f"{len(data)} bytes, more than {max_bytes}")
        return data

    async def send_media(
        self,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage:
        # The same outcomes as send_text (engine/whatsapp/media_io.py MediaCalls.send_media); a
        # scripted error (SendFailed, SendUnknown, SessionLost...) is raised as it is.
        self._answering()
        if not self.account.linked or self._mode() is not StreamMode.MAIN:
            raise NotLoggedIn("session is not linked and connected")
        if self.account.send_media_errors:
            raise self.account.send_media_errors.pop(0)
        self.account.sent_media.append((chat_id, media, caption))
        return SentMessage(f"true_{chat_id}_3EB0{len(self.calls):08X}", 1, chat_id, time.time())

    async def check_number(self, digits: str) -> NumberInfo | None:
        self._answering()
        return NumberInfo(f"{digits}@c.us")

    async def resolve_contact(self, contact_id: str) -> tuple[str | None, str | None]:
        self._answering()
        return (contact_id if contact_id.endswith("@c.us") else None), None

    async def catch_up(self, since_s: int, *, max_chats: int, per_chat: int) -> Backlog:
        # catchUp (bridge/inbound.js): src/chat/functions/list.ts (chats by last activity `t`),
        # getMessages.ts (the `count` newest of each, up to chat.lastReceivedKey); what others
        # wrote since `since_s` that this page has not handed over already.
        self._answering()
        chats: dict[str, list[Message]] = {}
        for message in sorted(self.account.store, key=lambda m: m.timestamp):
            chats.setdefault(message.chat_id, []).append(message)
        recent = sorted(
            (c for c in chats.values() if c[-1].timestamp >= since_s),
            key=lambda c: c[-1].timestamp,
            reverse=True,
        )
        found = [
            m
            for chat in recent[:max_chats]
            for m in chat[-per_chat:]
            if not m.from_me and m.timestamp >= since_s and m.id not in self._forwarded
        ]
        newest = frozenset(chat[-1].id for chat in recent[:max_chats])
        return Backlog(tuple(found), newest, complete=len(recent) <= max_chats)

    async def is_alive(self, timeout_s: float) -> bool:
        # The driver's grace: a page loaded within ready_timeout_s counts as alive while WA-JS
        # comes up (PlaywrightDriver.is_alive); a frozen page does not answer at all.
        if self.frozen:
            await asyncio.sleep(timeout_s)
            return False
        now = time.monotonic()
        return not self.stopped and (
            now >= self._ready_at or now < self._loaded_at + self.account.grace_s
        )

    # -- the world, scripted by tests ---------------------------------------------------

    def phone_scans(self) -> None:
        """The phone scans the QR (or types the code): conn.authenticated, and WA-JS cancels
        the code flow on it (linkDeviceCodeLifecycle.ts)."""
        assert not self.account.linked
        self.account.linked = True
        self._link_phone = self._link_code = None
        self._ref = None
        self._emit(Authenticated())
        self._emit(QrCodeChanged(None))
        self._emit(StreamModeChanged(StreamMode.MAIN, "NORMAL"))

    def message_arrives(self, message: Message, *, reaches_us: bool = True) -> None:
        """A message reaches the page: it is in the page's store (and acknowledged to WhatsApp)
        before chat.new_message fires. ``reaches_us=False``: the event never reaches the sink,
        as when the process dies between the two."""
        self.account.store.append(message)
        self._forwarded.add(message.id)
        if reaches_us:
            self._emit(MessageReceived(message))

    def phone_unlinks(self) -> None:
        """The phone removes this linked device: conn.logout (registerLogoutEvent.ts), then
        WhatsApp Web reloads itself to a new QR."""
        assert self.account.linked
        self.account.linked = False
        self.account.store.clear()
        self._emit(LoggedOut(None))
        self.whatsapp_reloads()

    def qr_rotates(self) -> None:
        """The ref expires: conn.auth_code_change (registerAuthCodeChangeEvent.ts, Conn
        change:ref). It rotates under a code screen as well."""
        assert not self.account.linked and not self._idle
        self._new_qr()

    def qr_goes_idle(self) -> None:
        """The socket goes UNPAIRED_IDLE: conn.qrcode_idle (registerQRCodeIdleEvent.ts); the
        QR no longer rotates until refreshQR."""
        self._idle = True
        self._emit(QrIdle())

    def link_code_runs_out(self) -> None:
        """The code's TTL passes (linkDeviceCodeLifecycle.ts scheduleRefresh): a new code up to
        MAX_AUTO_REFRESHES times, then conn.link_code_expired."""
        assert self._link_phone is not None, "no code flow is active"
        if self._refreshes >= MAX_AUTO_REFRESHES:
            self._link_code = None
            self._emit(LinkCodeExpired())
            return
        self._refreshes += 1
        self._new_code()

    def whatsapp_opened_elsewhere(self) -> None:
        """Another window took the session: stream mode CONFLICT (StreamMode.ts)."""
        assert self.account.linked
        self.account.conflict = True
        self._emit(StreamModeChanged(StreamMode.CONFLICT, "NORMAL"))

    def whatsapp_reloads(self) -> None:
        """WhatsApp Web reloads itself: the bridge is injected at once, WA-JS is ready only
        `ready_after_load_s` later (then PageReady and the current state, as the bridge does
        on loader.ready)."""
        delay_s, self.account.ready_after_load_s = self.account.ready_after_load_s, 0.0
        self._load(delay_s)

    def page_freezes(self) -> None:
        self.frozen = True

    # -- internals ----------------------------------------------------------------------

    def _mode(self) -> StreamMode:
        if not self.account.linked:
            return StreamMode.QR
        return StreamMode.CONFLICT if self.account.conflict else StreamMode.MAIN

    def _answering(self) -> None:
        """A page that is frozen, closed or still loading WA-JS fails the call, as the
        driver's page.evaluate does."""
        if self.stopped or not self.started:
            raise SessionLost("the page is not running")
        if self.frozen:
            raise SessionLost("got no answer from the page")
        if time.monotonic() < self._ready_at:
            raise SessionLost("status failed in the page: WPP is not ready")

    def _load(self, delay_s: float) -> None:
        """A page load: a new JS context, so no code flow and no idle QR survive it."""
        self._loaded_at = time.monotonic()
        self._ready_at = self._loaded_at + delay_s
        self._idle = False
        self._link_phone = self._link_code = None
        self._ref = None if self.account.linked else self.account.new_ref()
        if delay_s:
            # src/conn/events/registerStreamEvent.ts emits the current mode at onInjected,
            # before WA-JS is ready: the runner hears of the page while it cannot answer yet.
            self._emit(StreamModeChanged(self._mode(), "OPENING"))
            asyncio.get_running_loop().call_later(delay_s, self._ready)
        else:
            self._ready()

    def _ready(self) -> None:
        if self.stopped:
            return
        self._emit(PageReady())
        self._emit(StreamModeChanged(self._mode(), "NORMAL"))
        if self._ref is not None:
            self._emit(QrCodeChanged(self._ref))

    def _new_qr(self) -> None:
        self._ref = self.account.new_ref()
        self._emit(QrCodeChanged(self._ref))

    def _new_code(self) -> str:
        self._link_code = f"CODE{next(self._codes):04d}"
        self._emit(LinkCodeChanged(self._link_code))
        return self._link_code

    def _emit(self, event: DriverEvent) -> None:
        if not self.stopped:
            self._queue.put_nowait(event)

    async def _deliver(self) -> None:
        """Events reach the sink in order, one at a time, like the driver's pump."""
        while (event := await self._queue.get()) is not None:
            assert self._sink is not None
            await self._sink(event)
