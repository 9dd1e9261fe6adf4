"""SessionManager: every WhatsApp session of every client, each in its own supervised task.

Chat commands and the CLI call `add`, `pair`, `take_over`, `restart`, `logout` and `remove`; the
listener and the campaign runner call `send_text`, `send_media`, `download_media`,
`check_number` and `resolve_contact`. A
session's profile is opened by one runner at a time (and the driver's profile lock guards
against a second process).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from engine.errors import InvalidInput
from engine.events import EventBus, SessionRef
from engine.lifecycle import TwoPhase
from engine.phones import InvalidPhone, parse_phone
from engine.session.catch_up import CatchUp
from engine.session.profiles import clear_foreign_singleton, profile_dir
from engine.session.runner import InConflict, SessionPolicy, SessionRunner
from engine.settings import Settings
from engine.tasks import TaskOwner
from engine.texts import phrase
from engine.whatsapp.driver import WhatsAppDriver
from engine.whatsapp.errors import NotInConflict, NotLoggedIn, ProfileInUse
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.playwright_host import PlaywrightHost
from engine.whatsapp.profile_lock import ProfileLock
from engine.whatsapp.types import DriverConfig, NumberInfo, OutgoingMedia, SentMessage
from storage.db import Database, NotFound
from storage.records import SessionState, WaSession
from storage.repos import ClientRepo, MessageRepo, SessionRepo

logger = logging.getLogger(__name__)

DriverFactory = Callable[[WaSession], WhatsAppDriver]
_NOT_STARTED = (SessionState.BANNED, SessionState.LOGGED_OUT, SessionState.CONFLICT)
PROFILE_WAIT_S = 1.0  # between two looks at a profile a previous owner still holds


def playwright_factory(settings: Settings) -> DriverFactory:
    """Drivers on real Chromium, pointed at WhatsApp Web or the simulator by the settings.

    Each session gets its own browser and profile; all the drivers of one factory (one
    `SessionManager`) share one Playwright driver process, which runs while any of them does.
    """
    host = PlaywrightHost()

    def make(session: WaSession) -> WhatsAppDriver:
        return PlaywrightDriver(
            DriverConfig(
                session_name=session.key,
                chromium_path=settings.chromium_path,
                whatsapp_url=settings.whatsapp_url,
                wa_js_path=settings.wa_js_path,
                profile_dir=profile_dir(settings.data_dir, session.client_slug, session.name),
                device_name=f"waops {session.key}",
            ),
            host=host,
        )

    return make


class SessionControl(Protocol):
    """What operators' session commands call: the SessionManager in one process, the bot's
    `RemoteEngine` (engine/remote.py) in a split deployment. `state` is the live state where
    this process runs the session, None where only the stored one is known."""

    async def list(self, client_slug: str | None = None) -> list[WaSession]: ...
    async def get(self, client_slug: str, name: str = "main") -> WaSession: ...
    def state(self, session_id: int) -> SessionState | None: ...
    async def pair(self, client_slug: str, name: str = "main", phone: str | None = None) -> str: ...
    async def take_over(self, client_slug: str, name: str = "main") -> SessionState: ...
    async def restart(self, client_slug: str, name: str = "main") -> None: ...
    async def logout(self, client_slug: str, name: str = "main") -> None: ...


class SessionManager(TwoPhase):
    """Owns one `SessionRunner` task per started session."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        make_driver: DriverFactory,
        data_dir: Path,
        policy: SessionPolicy | None = None,
        pair_timeout_s: float = 90.0,
        *,
        autostart: bool = True,
    ) -> None:
        """`autostart` false (a `waops worker`): `start()` starts nothing; the sessions this
        process owns are started by `adopt` (engine/ownership.py)."""
        self._autostart = autostart
        self._repo = SessionRepo(db)
        self._messages = MessageRepo(db)
        self._clients = ClientRepo(db)
        self._bus = bus
        self._make_driver = make_driver
        self._data_dir = data_dir
        self.policy = policy or SessionPolicy()
        self._pair_timeout_s = pair_timeout_s
        self._runners: dict[int, SessionRunner] = {}
        self._run_tasks: dict[int, asyncio.Task[None]] = {}
        self._adopting: dict[int, asyncio.Task[None]] = {}  # waiting for a profile (adopt)
        self._tasks = TaskOwner("sessions")

    async def start(self) -> None:
        """Start every enabled session that is not banned, waiting for a pairing, or open in
        another window (starting that one would take WhatsApp from whoever uses it there)."""
        if not self._autostart:
            return
        for session in await self._repo.list(enabled_only=True):
            if session.state not in _NOT_STARTED:
                await self._launch(session)

    async def adopt(self, session_id: int) -> None:
        """Start a session this worker just took over, as `start()` would (not when disabled,
        banned, waiting for a pairing or open elsewhere), in the background once its profile is
        free (`_launch_when_free`)."""
        session = await self._repo.get_by_id(session_id)
        if not session.enabled or session.state in _NOT_STARTED or session_id in self._adopting:
            return
        profile = profile_dir(self._data_dir, session.client_slug, session.name)
        task = self._tasks.spawn(
            f"adopt:{session.client_slug}/{session.name}", self._launch_when_free(session, profile)
        )
        self._adopting[session_id] = task
        task.add_done_callback(lambda _t: self._adopting.pop(session_id, None))

    async def _launch_when_free(self, session: WaSession, profile: Path) -> None:
        """Start the session once its profile is free: a previous owner that stalled (and so
        lost the lease) may still hold it until it wakes, sees the loss and closes its browser,
        or until it dies. Only the lease holder waits here, so nobody takes it in between. The
        profile may still carry the Chromium singleton lock of the previous owner's machine,
        which Chromium would take for a browser running there: once the profile is ours, it
        goes."""
        lock = ProfileLock(profile)
        waited = False
        while True:
            try:
                lock.acquire()
            except ProfileInUse as exc:
                if not waited:
                    logger.warning("%s/%s: waiting for %s", session.client_slug, session.name, exc)
                    waited = True
                await asyncio.sleep(PROFILE_WAIT_S)
                continue
            clear_foreign_singleton(profile)  # ours now: nobody else has it open
            lock.release()
            break
        await self._launch(session)

    async def disown(self, session_id: int) -> None:
        """Stop a session this worker no longer owns and wait until its browser is closed."""
        adopting = self._adopting.pop(session_id, None)
        if adopting is not None:
            adopting.cancel()
        await self._halt(session_id)

    async def stop(self) -> None:
        """Stop every runner: browsers close, states are saved, tasks are awaited."""
        for runner in self._runners.values():
            runner.stop()
        await self._tasks.shutdown(self.policy.stop_timeout_s)
        self._runners.clear()

    # -- look-ups -------------------------------------------------------------------------

    async def get(self, client_slug: str, name: str = "main") -> WaSession:
        return await self._repo.get(client_slug, name)

    def runner(self, session_id: int) -> SessionRunner | None:
        return self._runners.get(session_id)

    def state(self, session_id: int) -> SessionState | None:
        runner = self._runners.get(session_id)
        return None if runner is None else runner.state

    async def wait_for_state(
        self, session_id: int, states: set[SessionState], timeout_s: float
    ) -> SessionState:
        runner = self._runners.get(session_id)
        if runner is None:
            raise NotFound(phrase("runner.not_running", id=session_id))
        return await runner.wait_for(states, timeout_s)

    # -- operations -----------------------------------------------------------------------

    async def add(self, client_slug: str, name: str = "main") -> WaSession:
        client = await self._clients.get(client_slug)
        return await self._repo.add(client.id, name)

    async def pair(self, client_slug: str, name: str = "main", phone: str | None = None) -> str:
        """Start pairing; returns the QR text, or with `phone` (as written, parsed in the client's
        region) an 8-character pairing code. Rotations of the QR follow as `QrUpdated` events."""
        session = await self._repo.get(client_slug, name)
        digits = None
        if phone is not None:
            client = await self._clients.get(client_slug)
            try:
                digits = parse_phone(phone, client.region).digits
            except InvalidPhone as exc:
                raise InvalidInput("phone.not_a_phone", raw=phone, reason=exc.reason) from exc
        runner = self._runners.get(session.id)
        if runner is None:
            if session.state is SessionState.CONFLICT:
                raise InConflict(f"{session.key} is open in another window; take it over instead")
            runner = await self._launch(session)
        return await runner.pair(digits, self._pair_timeout_s)

    async def take_over(self, client_slug: str, name: str = "main") -> SessionState:
        """Use WhatsApp here while it is open in another window (that window loses it);
        returns the state reached, ``connected`` when it worked. ``NotInConflict`` otherwise."""
        session = await self._repo.get(client_slug, name)
        runner = self._runners.get(session.id)
        if runner is None:
            if session.state is not SessionState.CONFLICT:
                raise NotInConflict(f"{session.key} is not open in another window")
            runner = await self._launch(session)
        return await runner.take_over(self.policy.take_over_timeout_s)

    async def list(self, client_slug: str | None = None) -> list[WaSession]:
        """Every session (of one client), with its stored state."""
        return await self._repo.list(client_slug)

    async def restart(self, client_slug: str, name: str = "main") -> None:
        session = await self._repo.get(client_slug, name)
        await self._halt(session.id)
        await self._launch(await self._repo.get_by_id(session.id))

    async def logout(self, client_slug: str, name: str = "main") -> None:
        """Unlink the device from the phone; the session then waits for a new pairing."""
        session = await self._repo.get(client_slug, name)
        runner = self._runners.get(session.id)
        if runner is None:
            raise NotLoggedIn(f"{client_slug}/{name} is not running; nothing to log out")
        await runner.logout()

    async def remove(
        self, client_slug: str, name: str = "main", *, delete_profile: bool = True
    ) -> None:
        """Stop the session, delete it and (by default) its browser profile."""
        session = await self._repo.get(client_slug, name)
        await self._halt(session.id)
        await self._repo.remove(session.id)
        if delete_profile:
            shutil.rmtree(profile_dir(self._data_dir, client_slug, name), ignore_errors=True)

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        """Send through a connected session; NotLoggedIn when it is not connected now."""
        runner = self._runners.get(session_id)
        if runner is None or runner.driver is None or runner.state is not SessionState.CONNECTED:
            state = "not running" if runner is None else runner.state.value
            raise NotLoggedIn(f"session {session_id} cannot send: it is {state}")
        return await runner.driver.send_text(chat_id, text, typing_ms=typing_ms)

    async def send_media(
        self,
        session_id: int,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage:
        """Send a file through a connected session (``sendFileMessage``, with the same
        refused/unknown split as `send_text`); NotLoggedIn when it is not connected now."""
        driver = self._connected(session_id, "send")
        return await driver.send_media(
            chat_id, media, caption=caption, typing_ms=typing_ms, timeout_s=timeout_s
        )

    async def download_media(self, session_id: int, message_id: str, *, max_bytes: int) -> bytes:
        """A received message's file (``downloadMedia`` in the page), at most `max_bytes`;
        NotLoggedIn when the session is not connected, MediaUnavailable when WhatsApp has
        no file for it."""
        driver = self._connected(session_id, "download media")
        return await driver.download_media(message_id, max_bytes=max_bytes)

    async def check_number(self, session_id: int, digits: str) -> NumberInfo | None:
        """``queryWidExists`` through a connected session (see `WhatsAppDriver.check_number`)."""
        return await self._connected(session_id, "check numbers").check_number(digits)

    async def resolve_contact(
        self, session_id: int, contact_id: str
    ) -> tuple[str | None, str | None]:
        """The (phone id, LID) of a person through a connected session (``getPnLidEntry``)."""
        return await self._connected(session_id, "resolve contacts").resolve_contact(contact_id)

    def _connected(self, session_id: int, what: str) -> WhatsAppDriver:
        runner = self._runners.get(session_id)
        driver = None if runner is None else runner.driver
        if runner is None or driver is None or runner.state is not SessionState.CONNECTED:
            raise NotLoggedIn(f"session {session_id} cannot {what}: it is not connected")
        return driver

    # -- internals ------------------------------------------------------------------------

    async def _launch(self, session: WaSession) -> SessionRunner:
        if session.id in self._runners:
            return self._runners[session.id]
        ref = SessionRef(session.id, session.client_id, session.client_slug, session.name)
        runner = SessionRunner(
            ref,
            session.state,
            paired_before=session.phone is not None or session.state is SessionState.LOGGED_OUT,
            make_driver=lambda: self._make_driver(session),
            repo=self._repo,
            bus=self._bus,
            policy=self.policy,
            catch_up=CatchUp(ref, self._messages, self._bus),
        )
        self._runners[session.id] = runner
        task = self._tasks.spawn(f"session:{session.client_slug}/{session.name}", runner.run())
        self._run_tasks[session.id] = task
        task.add_done_callback(lambda _t: self._forget(session.id, runner, task))
        return runner

    def _forget(self, session_id: int, runner: SessionRunner, task: asyncio.Task[None]) -> None:
        if self._runners.get(session_id) is runner:
            del self._runners[session_id]
        if self._run_tasks.get(session_id) is task:
            del self._run_tasks[session_id]

    async def _halt(self, session_id: int) -> None:
        """Stop a runner and wait until its browser is closed (its profile is free again)."""
        runner = self._runners.pop(session_id, None)
        task = self._run_tasks.pop(session_id, None)
        if runner is None:
            return
        runner.stop()
        if task is None:
            return
        _done, pending = await asyncio.wait({task}, timeout=self.policy.stop_timeout_s)
        if pending:
            task.cancel()
            await asyncio.wait(pending)
