"""The session around the messages: number checks, pairing codes, QR idle, conflict, logout and
slow reloads, through the driver and the simulator on real Chromium."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engine.whatsapp import (
    Authenticated,
    LinkCodeChanged,
    LinkCodeExpired,
    LoggedOut,
    MessageReceived,
    NotInConflict,
    NumberCheckUnavailable,
    NumberInfo,
    OnlineChanged,
    PageReady,
    QrCodeChanged,
    QrIdle,
    StreamMode,
    StreamModeChanged,
)
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import Simulator, SimulatorClient
from engine.whatsapp.simulator.client import SimulatorControlError
from tests.engine.whatsapp.conftest import BUSINESS_PHONE, SESSION, Launch, driver_config, pair
from tests.engine.whatsapp.recorder import EventRecorder

pytestmark = pytest.mark.browser

CONTACT = "5491122223333"
LID = "123456789012345"
Paired = tuple[PlaywrightDriver, EventRecorder]


async def test_number_checks_trust_a_miss_only_while_connected(tmp_path: Path) -> None:
    # A short miss cache (WA-JS: 15 s) so that the driver's second ask reaches the "server".
    async with (
        Simulator(qr_rotate_s=60.0, exists_miss_ttl_s=0.2) as simulator,
        SimulatorClient(simulator.base_url) as control,
    ):
        driver = PlaywrightDriver(
            driver_config(simulator, tmp_path / "profile"), number_recheck_delay_s=0.3
        )
        events = EventRecorder()
        await driver.start(events)
        try:
            await pair(control, events)
            await control.not_on_whatsapp(["5491199999999"])
            await control.request("POST", "/control/lids", {CONTACT: LID})
            assert await driver.check_number(CONTACT) == NumberInfo(f"{CONTACT}@c.us", f"{LID}@lid")
            assert await driver.check_number("541112345678") == NumberInfo("5491112345678@c.us")
            started = time.monotonic()
            assert await driver.check_number("5491199999999") is None
            assert time.monotonic() - started >= 0.3  # asked twice before concluding

            await control.action(SESSION, "drop")
            await events.expect(OnlineChanged, lambda e: not e.online)
            with pytest.raises(NumberCheckUnavailable):
                await driver.check_number("5491188887777")
        finally:
            await driver.stop()


async def test_an_expiring_pairing_code_is_renewed_until_wa_js_gives_up(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch()
    first = await driver.request_pairing_code(BUSINESS_PHONE)
    assert len(first) == 8
    assert (await events.expect(LinkCodeChanged)).code == first
    codes = [first]
    # linkDeviceCodeLifecycle.ts: at most 5 automatic refreshes, then conn.link_code_expired.
    for _ in range(5):
        await control.action(SESSION, "expire-link-code")
        codes.append((await events.expect(LinkCodeChanged)).code)
    assert len(set(codes)) == 6
    await control.action(SESSION, "expire-link-code")
    await events.expect(LinkCodeExpired)

    again = await driver.request_pairing_code(BUSINESS_PHONE)  # the operator asks again
    assert again not in codes
    await control.scan(SESSION, BUSINESS_PHONE, code=again)
    await events.expect(Authenticated)
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)


async def test_a_renewed_code_replaces_the_old_one(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch()
    old = await driver.request_pairing_code(BUSINESS_PHONE)
    await control.action(SESSION, "expire-link-code")
    new = (await events.expect(LinkCodeChanged, lambda e: e.code != old)).code
    with pytest.raises(SimulatorControlError):
        await control.scan(SESSION, BUSINESS_PHONE, code=old)
    await control.scan(SESSION, BUSINESS_PHONE, code=new)
    await events.expect(Authenticated)
    await driver.cancel_pairing_code()  # harmless once linked


async def test_an_idle_qr_comes_back_on_refresh(launch: Launch, control: SimulatorClient) -> None:
    driver, events = await launch()
    shown = await events.expect(QrCodeChanged, lambda e: e.code is not None)
    await control.action(SESSION, "qr-idle")
    await events.expect(QrIdle)
    await driver.refresh_qr()
    fresh = await events.expect(QrCodeChanged, lambda e: e.code is not None)
    assert fresh.code != shown.code and fresh.code == await driver.auth_code()


async def test_conflict_is_left_alone_until_taken_over(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, events = paired
    with pytest.raises(NotInConflict):
        await driver.take_over()
    await control.action(SESSION, "conflict")
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.CONFLICT)
    assert (await control.session(SESSION))["conflict"] is True
    assert (await driver.status()).mode is StreamMode.CONFLICT
    await driver.take_over()
    await events.expect(StreamModeChanged, lambda e: e.mode is StreamMode.MAIN)
    assert (await driver.status()).logged_in
    assert (await control.session(SESSION))["conflict"] is False


async def test_logout_from_the_driver_ends_cleanly(
    paired: Paired, control: SimulatorClient
) -> None:
    driver, events = paired
    await driver.logout()  # no SessionLost, although the page navigates away
    await events.expect(LoggedOut)
    # The reloaded page: its QR comes at injection, its PageReady when WA-JS is ready.
    fresh = await events.expect(QrCodeChanged, lambda e: e.code is not None)
    if not events.of_type(PageReady)[1:]:
        await events.expect(PageReady)
    assert fresh.code == await driver.auth_code()
    assert (await control.session(SESSION))["state"] == "qr"
    assert await driver.is_alive(5.0)
    assert not (await driver.status()).logged_in


async def test_a_slow_reload_is_alive_within_the_grace_only(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, events = await launch(ready_timeout_s=3.0)
    await pair(control, events)
    await control.request("POST", f"/control/sessions/{SESSION}/reload", {"ready_after_s": 1.5})
    await asyncio.sleep(0.5)
    assert await driver.is_alive(2.0)  # WA-JS not ready yet, but the page is fresh
    await events.expect(PageReady)
    assert await driver.is_alive(2.0)

    await control.request("POST", f"/control/sessions/{SESSION}/reload", {"ready_after_s": 30})
    await asyncio.sleep(1.0)
    assert await driver.is_alive(2.0)
    await asyncio.sleep(2.5)  # past the 3 s grace and WA-JS still not ready: not alive
    assert not await driver.is_alive(2.0)


# Twenty messages as the bridge's inbound part hands them to `emit`, in one turn of the page's
# event loop; the binding calls are counted by wrapping the binding the bridge calls.
_BURST = """async () => {
  const real = window.__waopsEmit;
  const sizes = [];
  window.__waopsEmit = (batch) => { sizes.push(batch.length); return real(batch); };
  try {
    for (let i = 0; i < 20; i++) {
      const key = 'K' + String(i).padStart(2, '0');
      window.__waopsBridge.emit('chat.new_message', {
        id: 'false_5491100000000@c.us_' + key, key_id: key, chat_id: '5491100000000@c.us',
        sender_id: '5491100000000@c.us', from_me: false, body: 'burst ' + key,
      });
    }
    const until = Date.now() + 5000;
    while (sizes.reduce((a, b) => a + b, 0) < 20 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return sizes;
  } finally {
    window.__waopsEmit = real;
  }
}"""


async def test_a_burst_of_page_events_crosses_in_two_binding_calls_in_order(
    paired: Paired,
) -> None:
    driver, events = paired
    assert driver._page is not None
    # The first goes at once; the 19 that came while it was under way go together after it.
    assert await driver._page.evaluate(_BURST) == [1, 19]
    for i in range(20):
        received = await events.expect(
            MessageReceived, lambda e: e.message.body.startswith("burst")
        )
        assert received.message.key_id == f"K{i:02d}"


# The first binding call never settles (it should not happen); the next event must still go.
_STALLED = """async () => {
  const real = window.__waopsEmit;
  const limit = window.__waopsConfig.emitStallMs;
  window.__waopsConfig.emitStallMs = 200;
  let calls = 0;
  window.__waopsEmit = (batch) => (++calls === 1 ? new Promise(() => {}) : real(batch));
  const message = (key) => ({
    id: 'false_5491100000000@c.us_' + key, key_id: key, chat_id: '5491100000000@c.us',
    sender_id: '5491100000000@c.us', from_me: false, body: 'stall ' + key,
  });
  try {
    window.__waopsBridge.emit('chat.new_message', message('LOST'));
    window.__waopsBridge.emit('chat.new_message', message('AFTER'));
    const until = Date.now() + 5000;
    while (calls < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return calls;
  } finally {
    window.__waopsEmit = real;
    window.__waopsConfig.emitStallMs = limit;
  }
}"""


async def test_a_binding_call_that_never_settles_holds_no_later_event(paired: Paired) -> None:
    driver, events = paired
    assert driver._page is not None
    assert await driver._page.evaluate(_STALLED) == 2
    after = await events.expect(MessageReceived, lambda e: e.message.body.startswith("stall"))
    assert after.message.key_id == "AFTER"
