"""The WhatsApp driver on Playwright: one persistent headless Chromium per session plus WA-JS.

Every session has its own browser and profile; the Playwright (Node.js) process that drives them
is shared through a ``PlaywrightHost`` (playwright_host.py). The page side is bridge/*.js; every
WA-JS behaviour relied on here is cited there or beside the call by its file in the WA-JS 4.6.0
source.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from playwright.async_api import BrowserContext, Frame, Page
from playwright.async_api import Error as PlaywrightError

from engine.tasks import TaskOwner
from engine.whatsapp import processes
from engine.whatsapp.chromium import CHROMIUM_ARGS, HEAVY_URL_PATTERNS, launch_session_browser
from engine.whatsapp.errors import (
    NotInConflict,
    NotLoggedIn,
    NumberCheckUnavailable,
    SessionLost,
    WAJSNotReady,
    WhatsAppError,
)
from engine.whatsapp.media_io import MediaCalls
from engine.whatsapp.page_events import (
    BINDING_NAME,
    BRIDGE_JS_PATHS,
    bridge_config_script,
    decode,
    decode_backlog,
)
from engine.whatsapp.playwright_host import PlaywrightHost, PlaywrightLease
from engine.whatsapp.profile_lock import ProfileLock
from engine.whatsapp.sending import OwnKeys, outcome, prepared
from engine.whatsapp.types import (
    Backlog,
    BrowserClosed,
    DriverConfig,
    DriverEvent,
    EventSink,
    LinkStatus,
    MessageReceived,
    NumberInfo,
    PageCrashed,
    SentMessage,
    StreamMode,
)

__all__ = ["CHROMIUM_ARGS", "PlaywrightDriver"]

logger = logging.getLogger(__name__)

_CALL = "([name, arg]) => window.__waops[name](arg)"
_READY = "() => !!(window.WPP && window.WPP.isReady === true && window.__waops)"
_ALIVE = "(graceMs) => !!(window.__waops && window.__waops.alive(graceMs))"
# What Playwright says when the document an evaluate ran in was replaced by a navigation.
_NAVIGATED = ("Execution context was destroyed", "because of a navigation")
# src/contact/functions/queryWidExists.ts caches a miss for 15 s: asking again sooner would only
# read that cache back.
NUMBER_RECHECK_DELAY_S = 16.0
PEER_LOOKUP_MS = 3000


def _navigated(exc: BaseException | None) -> bool:
    return isinstance(exc, PlaywrightError) and any(m in exc.message for m in _NAVIGATED)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


class PlaywrightDriver(MediaCalls):
    """``WhatsAppDriver`` for WhatsApp Web and the simulator alike (media calls: media_io.py).
    Drivers given one ``host`` share its Playwright; without one, each has its own."""

    def __init__(
        self,
        config: DriverConfig,
        *,
        host: PlaywrightHost | None = None,
        number_recheck_delay_s: float = NUMBER_RECHECK_DELAY_S,
    ) -> None:
        self.config = config
        self._number_recheck_delay_s = number_recheck_delay_s
        self._lock = ProfileLock(config.profile_dir)
        self._host = host or PlaywrightHost()
        self._lease: PlaywrightLease | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._queue: asyncio.Queue[DriverEvent | None] = asyncio.Queue()
        self._tasks = TaskOwner(f"whatsapp:{config.session_name}")
        self._pump_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._browser_pid: int | None = None
        self._own = OwnKeys()
        self._navigations = 0

    @property
    def browser_pid(self) -> int | None:
        """Pid of the Chromium browser process while running."""
        return self._browser_pid

    @property
    def node_pid(self) -> int | None:
        """Pid of the Playwright (Node.js) process driving this browser, while running."""
        return None if self._lease is None else self._lease.node_pid

    def pids(self) -> list[int]:
        """The browser process and its children (renderers, GPU, zygotes) alive now."""
        return processes.process_tree(self._browser_pid) if self._browser_pid else []

    async def start(self, events: EventSink) -> None:
        """Launch Chromium, inject WA-JS and our bridge, open the page, wait for ``isReady``."""
        if self._context is not None:
            raise WhatsAppError(f"session {self.config.session_name} is already started")
        self._lock.acquire()
        self._stopping = False
        self._queue = asyncio.Queue()
        self._pump_task = self._tasks.spawn(
            f"whatsapp-events:{self.config.session_name}", self._pump(events)
        )
        try:
            self._context = await self._launch()
            self._page = await self._open_page(self._context)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the browser and the pump, release the Playwright and the profile (idempotent)."""
        self._stopping = True
        context, self._context, self._page = self._context, None, None
        if context is not None:
            try:
                async with asyncio.timeout(self.config.call_timeout_s):
                    await context.close()
            except (PlaywrightError, TimeoutError):
                logger.warning("closing the browser of %s failed", self.config.session_name)
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.release()
        task, self._pump_task = self._pump_task, None
        if task is not None:
            self._queue.put_nowait(None)
            if task is not asyncio.current_task():
                await task
        self._browser_pid = None
        self._lock.release()

    async def _launch(self) -> BrowserContext:
        cfg = self.config
        self._lease = await self._host.acquire(on_lost=self._closed_unexpectedly)
        context = await launch_session_browser(
            self._lease.playwright,
            executable=cfg.chromium_path,
            profile_dir=cfg.profile_dir,
            headless=cfg.headless,
            timeout_s=cfg.launch_timeout_s,
        )
        self._browser_pid = processes.browser_pid(cfg.profile_dir)
        if self._browser_pid is not None:
            self._lease.launched(self._browser_pid)
        context.on("close", lambda _: self._closed_unexpectedly())
        # linkPreviewApiServers []: src/util/linkPreview.ts otherwise sends every URL we send to
        # third-party preview servers (`config.linkPreviewApiServers || defaultApiServers`);
        # with none, WA-JS falls back to WhatsApp's own preview (prepareLinkPreview.ts).
        wpp_config = {
            "disableGoogleAnalytics": True,
            "deviceName": cfg.device_name,
            "linkPreviewApiServers": [],
        }
        try:
            await context.expose_binding(BINDING_NAME, self._on_binding)
            await context.add_init_script(script=f"window.WPPConfig = {json.dumps(wpp_config)};")
            await context.add_init_script(path=cfg.wa_js_path)
            await context.add_init_script(
                script=bridge_config_script(peer_lookup_ms=PEER_LOOKUP_MS)
            )
            for part in BRIDGE_JS_PATHS:
                await context.add_init_script(path=part)
        except PlaywrightError as exc:
            raise SessionLost(f"could not prepare the browser: {exc.message}") from exc
        return context

    async def _open_page(self, context: BrowserContext) -> Page:
        cfg = self.config
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("crash", lambda _: self._queue.put_nowait(PageCrashed()))
            page.on("framenavigated", self._on_navigated)
            if cfg.block_heavy_resources:
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                await cdp.send("Network.setBlockedURLs", {"urls": HEAVY_URL_PATTERNS})
            await page.goto(
                cfg.url, wait_until="domcontentloaded", timeout=cfg.ready_timeout_s * 1000
            )
        except PlaywrightError as exc:
            raise SessionLost(f"could not open {cfg.url}: {exc.message}") from exc
        try:
            await page.wait_for_function(_READY, polling=200, timeout=cfg.ready_timeout_s * 1000)
        except PlaywrightError as exc:
            raise WAJSNotReady(
                f"WA-JS did not become ready within {cfg.ready_timeout_s:g} s at {cfg.url} "
                f"(bundle {cfg.wa_js_path}); WhatsApp Web may have changed: check the pinned "
                "@wppconnect/wa-js version"
            ) from exc
        logger.info("session %s: page ready at %s", cfg.session_name, cfg.url)
        return page

    def _on_navigated(self, frame: Frame) -> None:
        if frame.parent_frame is None:
            self._navigations += 1

    def _on_binding(self, _source: Any, payloads: Any) -> None:
        """The page's events, in order: a list of them per call (bridge/core.js batches those
        that happen while a call is under way)."""
        for payload in payloads:
            event = decode(payload)
            if event is None:
                continue
            if isinstance(event, MessageReceived):
                message = event.message
                if message.from_me and message.key_id in self._own:
                    logger.debug("session %s: echo of our %s", self.config.session_name, message.id)
                    continue
            self._queue.put_nowait(event)

    def _closed_unexpectedly(self) -> None:
        """The context closed, or Playwright's driver died and took the browser with it."""
        if not self._stopping:
            logger.warning("session %s: browser closed unexpectedly", self.config.session_name)
            self._queue.put_nowait(BrowserClosed())

    async def _pump(self, events: EventSink) -> None:
        """Deliver events in order, one at a time; a failing sink is logged, never fatal."""
        while (event := await self._queue.get()) is not None:
            try:
                await events(event)
            except Exception:
                logger.exception(
                    "session %s: event handler failed on %r", self.config.session_name, event
                )

    async def _evaluate(self, name: str, arg: Any, limit_s: float) -> dict[str, Any]:
        """Run one bridge entry point; a broken page or a timeout becomes ``SessionLost``."""
        page = self._page
        if page is None:
            raise SessionLost(f"session {self.config.session_name} is not running")
        try:
            async with asyncio.timeout(limit_s):
                result: dict[str, Any] = await page.evaluate(_CALL, [name, arg])
        except TimeoutError as exc:
            raise SessionLost(f"{name} got no answer from the page in {limit_s:g} s") from exc
        except PlaywrightError as exc:
            raise SessionLost(f"{name} failed in the page: {exc.message}") from exc
        return result

    async def _call(self, name: str, arg: Any = None) -> Any:
        """``_evaluate`` plus the mapping of WhatsApp's refusals to our errors."""
        result = await self._evaluate(name, arg, self.config.call_timeout_s)
        if result["ok"]:
            return result["value"]
        code, message = str(result["code"]), str(result["message"])
        if code == "not_logged_in":
            raise NotLoggedIn(message)
        if code == "offline":
            raise SessionLost(message)
        if code == "not_in_conflict":
            raise NotInConflict(message)
        raise WhatsAppError(f"{name}: {message} ({code})")

    @property
    def _page_limit_ms(self) -> int:
        """How long a page-side wait may last so that it answers before ``_evaluate`` gives up."""
        return int(self.config.call_timeout_s * 800)

    async def status(self) -> LinkStatus:
        """Logged in = authenticated-or-registered and stream mode MAIN."""
        raw = await self._call("status")
        mode = StreamMode.parse(raw["mode"])
        linked = bool(raw["authenticated"] or raw["registered"])
        return LinkStatus(
            logged_in=linked and mode is StreamMode.MAIN,
            mode=mode,
            info=str(raw["info"]),
            online=bool(raw["online"]),
            me=_opt_str(raw.get("me")),
        )

    async def auth_code(self) -> str | None:
        """The QR text, or ``None`` when linked (see bridge/connection.js ``qrText``)."""
        return _opt_str(await self._call("authCode"))

    async def refresh_qr(self) -> None:
        """A fresh QR (``WPP.conn.refreshQR``, e.g. after ``QrIdle``); it arrives as an event."""
        await self._call("refreshQr", self._page_limit_ms)

    async def request_pairing_code(self, phone: str) -> str:
        """``startLinkDeviceCodeForPhoneNumber`` (src/conn/functions/linkDeviceCodeLifecycle.ts).

        The first code is returned and also emitted as ``LinkCodeChanged``, like each automatic
        renewal; ``LinkCodeExpired`` after the last one, ``LinkCodeFailed`` on errors.
        """
        return str(await self._call("startLinkCode", phone))

    async def cancel_pairing_code(self) -> None:
        """``cancelLinkDeviceCode``: no more renewals, the QR is what remains."""
        await self._call("cancelLinkCode")

    async def take_over(self) -> None:
        """``WPP.whatsapp.Socket.takeover()`` in stream CONFLICT, else ``NotInConflict``."""
        await self._call("takeOver", min(self._page_limit_ms, 5000))

    async def logout(self) -> None:
        """Unlink this device; the page navigating away afterwards is the expected end."""
        navigations = self._navigations
        try:
            await self._call("logout")
        except SessionLost as exc:
            # src/conn/functions/logout.ts: Socket.logout(); WhatsApp Web then reloads, which may
            # destroy the evaluate's document before its promise settles.
            if self._navigations == navigations and not _navigated(exc.__cause__):
                raise
            logger.info("session %s: logged out (the page navigated)", self.config.session_name)

    async def send_text(self, chat_id: str, text: str, *, typing_ms: int = 0) -> SentMessage:
        """Send in two steps so the message id is ours before anything can go out (sending.py).

        ``SendFailed``: not sent. ``SendUnknown`` / ``SessionLost(maybe_sent=True)``: it may have
        gone out. ``NotLoggedIn`` / ``SessionLost(maybe_sent=False)``: nothing was tried.
        """
        send = prepared(
            await self._evaluate("prepareSend", chat_id, self.config.call_timeout_s), chat_id
        )
        self._own.add(send.key_id)
        arg = {
            "chatId": send.chat,
            "text": text,
            "messageId": send.key,
            "keyId": send.key_id,
            "delay": typing_ms,
        }
        limit_s = self.config.call_timeout_s + typing_ms / 1000
        try:
            result = await self._evaluate("sendText", arg, limit_s)
        except SessionLost as exc:
            raise SessionLost(str(exc), maybe_sent=True, message_id=send.key) from exc
        return outcome(result, send, chat_id)

    async def check_number(self, digits: str) -> NumberInfo | None:
        """``queryWidExists``: the number's ids, ``None`` only when not on WhatsApp.

        A null is trusted only while connected, and only after asking once more once WA-JS's
        15 s cache of the miss has expired; otherwise ``NumberCheckUnavailable``.
        """
        number = digits if "@" in digits else f"{digits}@c.us"
        for attempt in range(2):
            try:
                found = await self._call("exists", number)
            except WhatsAppError as exc:
                if "(invalid_wid)" in str(exc):  # src/assert/assertWid.ts: not an address
                    return None
                raise
            if found["wid"] is not None:
                return NumberInfo(wid=str(found["wid"]), lid=_opt_str(found["lid"]))
            if not found["connected"]:
                raise NumberCheckUnavailable(
                    f"cannot tell whether {number} is on WhatsApp: the session is not connected"
                )
            if attempt == 0:
                await asyncio.sleep(self._number_recheck_delay_s)
        return None

    async def resolve_contact(self, contact_id: str) -> tuple[str | None, str | None]:
        """``getPnLidEntry`` (src/contact/functions/getPnLidEntry.ts): (phone wid, lid)."""
        wid = contact_id if "@" in contact_id else f"{contact_id}@c.us"
        entry = await self._call("resolve", wid)
        return _opt_str(entry["phone"]), _opt_str(entry["lid"])

    async def catch_up(self, since_s: int, *, max_chats: int, per_chat: int) -> Backlog:
        """The bridge's ``catchUp`` (inbound.js): ``WPP.chat.list``, then ``WPP.chat.getMessages``
        per chat."""
        limit_ms = self._page_limit_ms
        arg = {"sinceS": since_s, "chats": max_chats, "perChat": per_chat, "deadlineMs": limit_ms}
        return decode_backlog(await self._call("catchUp", arg))

    async def is_alive(self, timeout_s: float) -> bool:
        """True when the page evaluates within ``timeout_s`` and WA-JS is ready, or the page was
        loaded less than ``ready_timeout_s`` ago (WhatsApp Web is slow to come back)."""
        page = self._page
        if page is None:
            return False
        grace_ms = self.config.ready_timeout_s * 1000
        try:
            async with asyncio.timeout(timeout_s):
                try:
                    return bool(await page.evaluate(_ALIVE, grace_ms))
                except PlaywrightError as exc:
                    if not _navigated(exc):
                        raise
                    await page.wait_for_load_state("domcontentloaded")
                    return bool(await page.evaluate(_ALIVE, grace_ms))
        except (TimeoutError, PlaywrightError):
            return False
