"""Pairing against the simulator on real Chromium: QR, rotation, scan, logout, relaunch."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.whatsapp import (
    Authenticated,
    LoggedOut,
    PageReady,
    QrCodeChanged,
    StreamMode,
    StreamModeChanged,
)
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import Simulator, SimulatorClient
from tests.engine.whatsapp.conftest import BUSINESS_PHONE, SESSION, Launch, driver_config, pair
from tests.engine.whatsapp.qr_image import decode_png, render_png
from tests.engine.whatsapp.recorder import EventRecorder

pytestmark = pytest.mark.browser


async def test_qr_decodes_to_the_simulators_code_and_scan_logs_in(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch()
    shown = await events.expect(QrCodeChanged, lambda e: e.code is not None)
    code = await driver.auth_code()
    assert code is not None
    assert code == shown.code == (await control.session(SESSION))["auth_code"]
    assert decode_png(render_png(code)) == code
    assert code.count(",") == 3 and code.startswith("2@")
    assert not (await driver.status()).logged_in  # ready is not logged in

    await control.scan(SESSION, BUSINESS_PHONE)
    await events.expect(Authenticated)
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)
    status = await driver.status()
    assert status.logged_in and status.online and status.mode is StreamMode.MAIN
    assert await driver.auth_code() is None
    assert (await control.session(SESSION))["state"] == "connected"


async def test_auth_code_rotates(tmp_path: Path) -> None:
    async with (
        Simulator(qr_rotate_s=0.3) as simulator,
        SimulatorClient(simulator.base_url) as control,
    ):
        driver = PlaywrightDriver(driver_config(simulator, tmp_path / "profile"))
        events = EventRecorder()
        await driver.start(events)
        try:
            first = await events.expect(QrCodeChanged, lambda e: e.code is not None)
            second = await events.expect(QrCodeChanged, lambda e: e.code is not None)
            assert first.code != second.code
            # Only the ref rotates; the key pairs of the page stay.
            assert first.code and second.code
            assert first.code.split(",")[1:] == second.code.split(",")[1:]
            assert await control.session(SESSION)
        finally:
            await driver.stop()


async def test_pairing_code_then_entering_it_links(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch()
    code = await driver.request_pairing_code(BUSINESS_PHONE)
    assert len(code) == 8 and code.isalnum()
    await control.scan(SESSION, BUSINESS_PHONE, code=code)
    await events.expect(Authenticated)
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)


async def test_logout_from_phone_emits_reason_and_fresh_qr(
    paired: tuple[PlaywrightDriver, EventRecorder], control: SimulatorClient
) -> None:
    driver, events = paired
    await control.action(SESSION, "logout")
    logged_out = await events.expect(LoggedOut)
    assert logged_out.reason == "user_initiated"
    fresh = await events.expect(QrCodeChanged, lambda e: e.code is not None)
    assert fresh.code == await driver.auth_code()
    assert not (await driver.status()).logged_in
    # The old device token is dead: scanning again is the only way back.
    await pair(control, events)
    assert (await driver.status()).logged_in


async def test_logout_from_the_driver(
    paired: tuple[PlaywrightDriver, EventRecorder], control: SimulatorClient
) -> None:
    driver, events = paired
    await driver.logout()
    await events.expect(LoggedOut)
    await events.expect(QrCodeChanged, lambda e: e.code is not None)
    assert (await control.session(SESSION))["state"] == "qr"


async def test_relaunch_with_the_same_profile_comes_back_linked(
    launch: Launch, control: SimulatorClient
) -> None:
    first, events = await launch()
    await pair(control, events)
    await first.stop()

    second, again = await launch()
    await again.expect(PageReady)
    await again.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)
    assert (await second.status()).logged_in
    assert await second.auth_code() is None
    assert [e for e in again.of_type(QrCodeChanged) if e.code is not None] == []
