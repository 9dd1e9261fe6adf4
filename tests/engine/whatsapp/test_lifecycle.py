"""Browser lifecycle: crashes, profile locking, WA-JS not coming up, resource blocking."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from engine.whatsapp import (
    BrowserClosed,
    DriverConfig,
    MessageReceived,
    PageReady,
    ProfileInUse,
    SendFailed,
    SessionLost,
    StreamMode,
    StreamModeChanged,
    WAJSNotReady,
)
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import Simulator, SimulatorClient
from tests.engine.whatsapp.conftest import SESSION, Launch, pair
from tests.engine.whatsapp.recorder import EventRecorder

pytestmark = pytest.mark.browser


async def test_killing_chromium_emits_browser_closed(launch: Launch) -> None:
    driver, events = await launch()
    pid = driver.browser_pid
    assert pid is not None and pid in driver.pids() and len(driver.pids()) > 1
    assert await driver.is_alive(5.0)

    os.kill(pid, signal.SIGKILL)
    await events.expect(BrowserClosed)
    assert not await driver.is_alive(1.0)
    with pytest.raises(SessionLost):
        await driver.status()
    await driver.stop()
    await driver.stop()  # idempotent


async def test_a_profile_is_never_opened_twice(launch: Launch, config: DriverConfig) -> None:
    first, _ = await launch()
    second = PlaywrightDriver(config)
    with pytest.raises(ProfileInUse, match="already open"):
        await second.start(EventRecorder())
    assert await first.is_alive(5.0)
    await second.stop()


async def test_wa_js_that_never_gets_ready(launch: Launch, tmp_path: Path) -> None:
    empty_bundle = tmp_path / "not-wa-js.js"
    empty_bundle.write_text("// defines no WPP\n")
    for _ in range(2):  # the failed start released the profile: a retry gets the same error
        with pytest.raises(WAJSNotReady, match="did not become ready within 1 s"):
            await launch(wa_js_path=empty_bundle, ready_timeout_s=1.0)


async def test_heavy_resources_are_blocked_and_user_agent_is_not_headless(
    launch: Launch, simulator: Simulator, control: SimulatorClient, tmp_path: Path
) -> None:
    await launch()
    assert simulator.state.heavy_requests == 0
    user_agent = (await control.session(SESSION))["user_agent"]
    assert "HeadlessChrome" not in user_agent and "Chrome/" in user_agent

    await launch(
        profile_dir=tmp_path / "other", session_name="haby-other", block_heavy_resources=False
    )
    assert simulator.state.heavy_requests == 1


async def test_messages_written_while_no_page_is_open_are_delivered_on_relaunch(
    launch: Launch, control: SimulatorClient
) -> None:
    first, events = await launch()
    await pair(control, events)
    await first.stop()
    waiting = await control.inbound(SESSION, "5491122223333", "¿están?")
    assert (await control.session(SESSION))["queued"] == 1

    _, again = await launch()
    # The bridge subscribes at injection, so the message may even come before WA-JS is ready.
    assert (await again.expect(MessageReceived)).message.id == waiting
    if not again.of_type(PageReady):
        await again.expect(PageReady)


async def test_banned_number(launch: Launch, control: SimulatorClient) -> None:
    driver, events = await launch()
    await pair(control, events)
    await control.action(SESSION, "ban")
    changed = await events.expect(StreamModeChanged, lambda e: e.mode.is_banned)
    assert changed.mode is StreamMode.TOS_BLOCK
    assert not (await driver.status()).logged_in
    with pytest.raises(SendFailed, match="TOS_BLOCK"):
        await driver.send_text("5491122223333@c.us", "hola")


async def test_a_page_reload_re_arms_the_bridge(launch: Launch, control: SimulatorClient) -> None:
    driver, events = await launch()
    await pair(control, events)
    await control.action(SESSION, "reload")
    await events.expect(PageReady)
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)
    message_id = await control.inbound(SESSION, "5491122223333", "después de recargar")
    assert (await events.expect(MessageReceived)).message.id == message_id
    assert len(events.of_type(MessageReceived)) == 1  # one binding, subscriptions not doubled
    assert (await driver.status()).logged_in
