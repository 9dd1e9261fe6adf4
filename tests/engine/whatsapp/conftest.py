"""Fixtures: an in-process simulator on a free loopback port and drivers on real Chromium."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from engine.whatsapp import DriverConfig, StreamMode, StreamModeChanged
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import Simulator, SimulatorClient
from tests.engine.whatsapp.recorder import EventRecorder

CHROMIUM = Path(os.environ.get("WAOPS_CHROMIUM_PATH", "/usr/bin/chromium"))
SESSION = "haby-main"
BUSINESS_PHONE = "5491100000000"
# A contact of the business, with the LID WhatsApp knows them by.
CONTACT = "5491122223333"
CONTACT_WID = f"{CONTACT}@c.us"
LID = "123456789012345"
LID_WID = f"{LID}@lid"

Launch = Callable[..., Awaitable[tuple[PlaywrightDriver, EventRecorder]]]
Paired = tuple[PlaywrightDriver, EventRecorder]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests need Chromium; say so instead of failing when it is missing."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (set WAOPS_CHROMIUM_PATH)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@contextlib.asynccontextmanager
async def local_site(pages: dict[str, tuple[str, str]]) -> AsyncIterator[str]:
    """Serve `pages` (path -> (text, content type)) on 127.0.0.1; the site's root URL."""
    app = web.Application()
    for path, (text, content_type) in pages.items():

        async def serve(_: web.Request, text: str = text, kind: str = content_type) -> web.Response:
            return web.Response(text=text, content_type=kind)

        app.router.add_get(path, serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


def driver_config(simulator: Simulator, profile_dir: Path, session: str = SESSION) -> DriverConfig:
    """A driver pointed at ``simulator`` with a short ready timeout."""
    return DriverConfig(
        session_name=session,
        chromium_path=CHROMIUM,
        whatsapp_url=simulator.whatsapp_url,
        wa_js_path=Path(simulator.wa_js_path),
        profile_dir=profile_dir,
        device_name="waops tests",
        ready_timeout_s=15.0,
        call_timeout_s=10.0,
    )


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A simulator whose QR does not rotate during a test."""
    async with Simulator(qr_rotate_s=60.0) as sim:
        yield sim


@pytest.fixture
async def control(simulator: Simulator) -> AsyncIterator[SimulatorClient]:
    """Control API client of ``simulator``."""
    async with SimulatorClient(simulator.base_url) as client:
        yield client


@pytest.fixture
def config(simulator: Simulator, tmp_path: Path) -> DriverConfig:
    """Config of the default session with a fresh profile."""
    return driver_config(simulator, tmp_path / "profile")


@pytest.fixture
async def launch(config: DriverConfig) -> AsyncIterator[Launch]:
    """Start drivers (default: ``config``, overrides as keywords); all are stopped afterwards."""
    drivers: list[PlaywrightDriver] = []

    async def start(
        base: DriverConfig | None = None, **overrides: object
    ) -> tuple[PlaywrightDriver, EventRecorder]:
        driver = PlaywrightDriver(replace(base or config, **overrides))  # type: ignore[arg-type]
        drivers.append(driver)
        recorder = EventRecorder()
        await driver.start(recorder)
        return driver, recorder

    yield start
    for driver in reversed(drivers):
        await driver.stop()


async def pair(control: SimulatorClient, recorder: EventRecorder, session: str = SESSION) -> None:
    """Scan the QR and wait until the stream is MAIN."""
    await control.scan(session, BUSINESS_PHONE)
    await recorder.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)


@pytest.fixture
async def paired(launch: Launch, control: SimulatorClient) -> Paired:
    """A driver linked to the simulated phone."""
    driver, recorder = await launch()
    await pair(control, recorder)
    return driver, recorder
