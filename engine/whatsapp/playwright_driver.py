"""The WhatsApp driver on Playwright: one persistent headless Chromium per session plus WA-JS."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from engine.whatsapp import processes
from engine.whatsapp.errors import (
    NotLoggedIn,
    ProfileInUse,
    SendFailed,
    SessionLost,
    WAJSNotReady,
    WhatsAppError,
)
from engine.whatsapp.page_events import BINDING_NAME, BRIDGE_JS_PATH, decode
from engine.whatsapp.profile_lock import ProfileLock
from engine.whatsapp.types import (
    BrowserClosed,
    DriverConfig,
    DriverEvent,
    EventSink,
    LinkStatus,
    PageCrashed,
    SentMessage,
    StreamMode,
)

logger = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Media, avatars, fonts and pictures the session never looks at. Blocked through CDP rather than
# a Playwright route: routing disables the HTTP cache and round-trips every request via Python.
HEAVY_URL_PATTERNS = [
    "*://mmg.whatsapp.net/*",
    "*://pps.whatsapp.net/*",
    "*://media*.whatsapp.net/*",
    *(f"*.{ext}" for ext in ("png", "jpg", "jpeg", "gif", "webp", "ico", "mp4", "webm", "ogg")),
    *(f"*.{ext}" for ext in ("mp3", "woff", "woff2", "ttf", "otf")),
]
_CALL = "([name, arg]) => window.__waops[name](arg)"
_READY = "() => !!(window.WPP && window.WPP.isReady === true && window.__waops)"


class PlaywrightDriver:
    """``WhatsAppDriver`` for real WhatsApp Web and for the simulator (same code path)."""

    def __init__(self, config: DriverConfig) -> None:
        self.config = config
        self._lock = ProfileLock(config.profile_dir)
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._queue: asyncio.Queue[DriverEvent | None] = asyncio.Queue()
        self._pump_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._browser_pid: int | None = None

    @property
    def browser_pid(self) -> int | None:
        """Pid of the Chromium browser process while running."""
        return self._browser_pid

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
        self._pump_task = asyncio.create_task(
            self._pump(events), name=f"whatsapp-events:{self.config.session_name}"
        )
        try:
            self._context = await self._launch()
            self._page = await self._open_page(self._context)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the browser, drain the event pump and release the profile (idempotent)."""
        self._stopping = True
        context, self._context, self._page = self._context, None, None
        if context is not None:
            try:
                async with asyncio.timeout(self.config.call_timeout_s):
                    await context.close()
            except (PlaywrightError, TimeoutError):
                logger.warning("closing the browser of %s failed", self.config.session_name)
        if self._playwright is not None:
            playwright, self._playwright = self._playwright, None
            await playwright.stop()
        task, self._pump_task = self._pump_task, None
        if task is not None:
            self._queue.put_nowait(None)
            if task is not asyncio.current_task():
                await task
        self._browser_pid = None
        self._lock.release()

    async def _launch(self) -> BrowserContext:
        cfg = self.config
        self._playwright = await async_playwright().start()
        try:
            context = await self._playwright.chromium.launch_persistent_context(
                user_data_dir=cfg.profile_dir,
                executable_path=cfg.chromium_path,
                headless=cfg.headless,
                args=CHROMIUM_ARGS,
                timeout=cfg.call_timeout_s * 1000,
            )
        except PlaywrightError as exc:
            if "ProcessSingleton" in exc.message or "in use" in exc.message:
                raise ProfileInUse(f"Chromium says {cfg.profile_dir} is in use") from exc
            raise SessionLost(f"could not launch {cfg.chromium_path}: {exc.message}") from exc
        self._browser_pid = processes.browser_pid(cfg.profile_dir)
        context.on("close", lambda _: self._closed_unexpectedly())
        wpp_config = {"disableGoogleAnalytics": True, "deviceName": cfg.device_name}
        try:
            await context.expose_binding(BINDING_NAME, self._on_binding)
            await context.add_init_script(script=f"window.WPPConfig = {json.dumps(wpp_config)};")
            await context.add_init_script(path=cfg.wa_js_path)
            await context.add_init_script(path=BRIDGE_JS_PATH)
        except PlaywrightError as exc:
            raise SessionLost(f"could not prepare the browser: {exc.message}") from exc
        return context

    async def _open_page(self, context: BrowserContext) -> Page:
        cfg = self.config
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("crash", lambda _: self._queue.put_nowait(PageCrashed()))
            cdp = await context.new_cdp_session(page)
            user_agent = str(await page.evaluate("navigator.userAgent"))
            if "HeadlessChrome" in user_agent:
                override = {"userAgent": user_agent.replace("HeadlessChrome", "Chrome")}
                await cdp.send("Emulation.setUserAgentOverride", override)
            if cfg.block_heavy_resources:
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

    def _on_binding(self, _source: Any, payload: Any) -> None:
        event = decode(payload)
        if event is not None:
            self._queue.put_nowait(event)

    def _closed_unexpectedly(self) -> None:
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
        raise WhatsAppError(f"{name}: {message}")

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
            me=None if raw.get("me") is None else str(raw["me"]),
        )

    async def auth_code(self) -> str | None:
        """The QR text (``fullCode``), or ``None`` when linked."""
        code = await self._call("authCode")
        return None if code is None else str(code)

    async def refresh_qr(self) -> None:
        """Ask WhatsApp for a fresh QR."""
        await self._call("refreshQr")

    async def request_pairing_code(self, phone: str) -> str:
        """An 8-character pairing code for ``phone`` (digits, with country code)."""
        return str(await self._call("pairingCode", phone))

    async def logout(self) -> None:
        """Unlink this device from the phone."""
        await self._call("logout")

    async def send_text(self, chat_id: str, text: str, *, typing_ms: int = 0) -> SentMessage:
        """Send; ``SendFailed`` = not sent, ``SessionLost(maybe_sent=True)`` = unknown."""
        arg = {"chatId": chat_id, "text": text, "typingMs": typing_ms}
        limit_s = self.config.call_timeout_s + typing_ms / 1000
        try:
            result = await self._evaluate("sendText", arg, limit_s)
        except SessionLost as exc:
            raise SessionLost(str(exc), maybe_sent=True) from exc
        if not result["ok"]:
            code, message = str(result["code"]), str(result["message"])
            if code == "not_logged_in":
                raise NotLoggedIn(f"cannot send to {chat_id}: {message}")
            if code == "offline":
                raise SessionLost(f"message to {chat_id} was not sent: {message}")
            raise SendFailed(f"message to {chat_id} was not sent: {message}")
        sent = result["value"]
        return SentMessage(
            id=str(sent["id"]), ack=int(sent["ack"]), to=str(sent["to"]), timestamp=time.time()
        )

    async def check_number(self, digits: str) -> str | None:
        """``queryWidExists``: the canonical wid (Argentine mobiles get their 9) or ``None``."""
        number = digits if "@" in digits else f"{digits}@c.us"
        wid = await self._call("exists", number)
        return None if wid is None else str(wid)

    async def is_alive(self, timeout_s: float) -> bool:
        """True when the page evaluates within ``timeout_s`` and WA-JS is still ready."""
        page = self._page
        if page is None:
            return False
        try:
            async with asyncio.timeout(timeout_s):
                return bool(
                    await page.evaluate("() => !!(window.__waops && window.__waops.alive())")
                )
        except (TimeoutError, PlaywrightError):
            return False
