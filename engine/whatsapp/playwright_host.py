"""One Playwright, that is one Node.js driver process, shared by the sessions of an engine.

Playwright's Python API drives the browsers through a Node.js process; one such process
launches any number of persistent contexts (``playwright.chromium.launch_persistent_context``),
each its own Chromium with its own profile, and a browser that dies is reported as the close of
its context alone. So the sessions share one: the first lease starts it, the last release
stops it, and no Node process outlives the sessions that used it.

When Node itself dies, the browsers it launched exit with it (their DevTools pipe closes), but no
close event comes: nothing is left to send one, and calls in flight fail as "closed". The host
watches the Node process, tells every lease holder (the driver reports its browser as closed, so
the session reconnects as after a browser crash), and the next ``acquire`` starts a new
Playwright instead of handing out the dead one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Playwright, async_playwright

from engine.whatsapp import processes
from engine.whatsapp.errors import SessionLost

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


class _Instance:
    """One started Playwright: its Node process (once known), its leases, whether it died."""

    def __init__(self, playwright: Playwright) -> None:
        self.playwright = playwright
        self.node_pid: int | None = None
        self.leases: set[PlaywrightLease] = set()
        self.died = False
        self._unwatch: Callable[[], None] | None = None

    @property
    def dead(self) -> bool:
        return self.died or (self.node_pid is not None and not processes.alive(self.node_pid))

    def adopt(self, browser_pid: int) -> None:
        """Learn the Node process from a browser it launched (the browser's parent), exactly,
        even while another Playwright of this process starts; then watch it."""
        if self.node_pid is not None:
            return
        node = processes.parent_pid(browser_pid)
        if node is None or not processes.is_playwright_driver(node):
            logger.warning("the parent of browser %s is not a Playwright driver", browser_pid)
            return
        self.node_pid = node
        self._unwatch = processes.on_exit(node, self._exited)

    def _exited(self) -> None:
        self._unwatch = None
        self.died = True
        logger.warning("Playwright's driver (pid %s) exited; its browsers are gone", self.node_pid)
        for lease in list(self.leases):
            lease.on_lost()

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await self.playwright.stop()  # a dead one returns at once
        except TimeoutError:
            logger.warning("Playwright's driver (pid %s) did not stop in time", self.node_pid)


class PlaywrightLease:
    """A session's hold on the shared Playwright, from ``acquire()`` to ``release()``."""

    def __init__(
        self, host: PlaywrightHost, instance: _Instance, on_lost: Callable[[], None]
    ) -> None:
        self._host = host
        self._instance = instance
        self.on_lost = on_lost
        self._released = False

    @property
    def playwright(self) -> Playwright:
        return self._instance.playwright

    @property
    def node_pid(self) -> int | None:
        """Pid of the Node.js driver, known once a browser of this Playwright has launched."""
        return self._instance.node_pid

    def launched(self, browser_pid: int) -> None:
        """A browser of this lease runs as ``browser_pid`` (its parent is the Node driver)."""
        self._instance.adopt(browser_pid)

    async def release(self) -> None:
        """Give the Playwright back; the last release stops it (idempotent)."""
        if not self._released:
            self._released = True
            await self._host.release(self._instance, self)


class PlaywrightHost:
    """Hands out one Playwright to every driver built with it: started by the first lease,
    stopped after the last release, replaced when its Node process died."""

    def __init__(self) -> None:
        self._current: _Instance | None = None
        self._lock = asyncio.Lock()

    @property
    def node_pid(self) -> int | None:
        """Pid of the live Node driver, when one runs and a browser has told which it is."""
        current = self._current
        return None if current is None or current.dead else current.node_pid

    async def acquire(self, on_lost: Callable[[], None]) -> PlaywrightLease:
        """A lease on the live Playwright, starting one if none runs or the last one died;
        ``on_lost`` is called if its Node process dies while the lease is held. ``SessionLost``
        when Node cannot be started."""
        async with self._lock:
            current = self._current
            if current is not None and current.dead:
                # Its leases release it (and stop what is left of it) when their drivers stop.
                logger.info("starting a new Playwright: the previous driver died")
                current = self._current = None
            if current is None:
                try:
                    current = self._current = _Instance(await async_playwright().start())
                except (OSError, PlaywrightError) as exc:
                    raise SessionLost(f"could not start Playwright's driver: {exc}") from exc
            lease = PlaywrightLease(self, current, on_lost)
            current.leases.add(lease)
            return lease

    async def release(self, instance: _Instance, lease: PlaywrightLease) -> None:
        async with self._lock:
            instance.leases.discard(lease)
            if instance.leases:
                return
            if self._current is instance:
                self._current = None
            await instance.stop()
