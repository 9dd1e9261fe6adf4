"""The fake WPP's connection life: number checks (queryWidExists.ts), readiness (loader),
conflict and takeover (SocketModel.ts), logout (logout.ts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from engine.whatsapp.simulator import Simulator, SimulatorClient
from tests.engine.whatsapp import simulator_page
from tests.engine.whatsapp.conftest import SESSION
from tests.engine.whatsapp.simulator_page import OpenPage, page_opener, pair, seen, wait_seen

browser = simulator_page.browser
open_page = simulator_page.open_page

pytestmark = pytest.mark.browser

CONTACT = "5491122223333"
EXISTS = "(id) => WPP.contact.queryWidExists(id)"


@pytest.fixture
async def short_cache() -> AsyncIterator[Simulator]:
    """queryWidExists misses cached 0.5 s instead of 15 s."""
    async with Simulator(qr_rotate_s=60, exists_miss_ttl_s=0.5) as sim:
        yield sim


async def test_query_wid_exists(browser: Browser, short_cache: Simulator) -> None:
    page = await page_opener(browser, short_cache)()
    async with SimulatorClient(short_cache.base_url) as control:
        await pair(control, page)
        await control.lids({"5491133334444": "333444555666777"})
        await control.not_on_whatsapp(["5491199999999"])
        found = await page.evaluate(EXISTS, "541112345678")  # the Argentine 9 is resolved
        assert found["wid"]["_serialized"] == "5491112345678@c.us" and found["biz"] is False
        with_lid = await page.evaluate(EXISTS, "5491133334444@c.us")
        assert with_lid["lid"]["_serialized"] == "333444555666777@lid"
        assert await page.evaluate(EXISTS, "5491199999999") is None

        # Offline the server query fails: null, and that miss is cached.
        await control.action(SESSION, "drop")
        await page.wait_for_function("!WPP.conn.isOnline()")
        assert await page.evaluate(EXISTS, "5491155556666") is None
        await control.action(SESSION, "restore")
        await page.wait_for_function("WPP.conn.isMainReady()")
        assert await page.evaluate(EXISTS, "5491155556666") is None  # still the cached miss
        await asyncio.sleep(0.6)
        again = await page.evaluate(EXISTS, "5491155556666")
        assert again["wid"]["_serialized"] == "5491155556666@c.us"


async def test_slow_readiness_after_reload_still_delivers_events(
    open_page: OpenPage, control: SimulatorClient
) -> None:
    page = await open_page()
    await pair(control, page)
    sent = await page.evaluate("(to) => WPP.chat.sendTextMessage(to, 'hola')", f"{CONTACT}@c.us")
    async with page.expect_event("load"):
        await control.reload(SESSION, ready_after_s=1.5)
    await wait_seen(page, "conn.stream_mode_changed")  # events work before WPP.isReady
    state = await page.evaluate("({injected: WPP.isInjected, ready: WPP.isReady})")
    assert state == {"injected": True, "ready": False}
    failure = await page.evaluate(
        "() => { try { WPP.conn.isAuthenticated(); return null; } catch (e) { return e.name; } }"
    )
    assert failure == "TypeError"

    key = await control.inbound(SESSION, CONTACT, "mientras carga")
    await control.ack(SESSION, sent["id"], 3)
    await wait_seen(page, "chat.new_message")
    [msg] = await seen(page, "chat.new_message")
    assert msg["args"][0]["id"] == key and msg["ready"] is False
    await page.wait_for_function("WPP.isReady && WPP.isFullReady", timeout=5000)
    await asyncio.sleep(0.2)
    assert await seen(page, "chat.msg_ack_change") == []  # registered at full ready only
    await control.ack(SESSION, sent["id"], 4)
    await wait_seen(page, "chat.msg_ack_change")


async def test_conflict_and_takeover(open_page: OpenPage, control: SimulatorClient) -> None:
    page = await open_page()
    await pair(control, page)
    await control.action(SESSION, "conflict")
    await page.wait_for_function("WPP.conn.getStreamData().mode === 'CONFLICT'")
    assert await page.evaluate("WPP.whatsapp.Socket.state") == "CONFLICT"
    entry = await control.session(SESSION)
    assert entry["conflict"] and entry["state"] == "conflict"
    waiting = await control.inbound(SESSION, CONTACT, "no llega hasta retomar")
    await asyncio.sleep(0.2)
    assert await seen(page, "chat.new_message") == []

    await page.evaluate("WPP.whatsapp.Socket.takeover()")
    await page.wait_for_function("WPP.conn.isMainReady()")
    assert not (await control.session(SESSION))["conflict"]
    await wait_seen(page, "chat.new_message")
    assert (await seen(page, "chat.new_message"))[0]["args"][0]["id"] == waiting


async def test_a_second_window_puts_the_first_in_conflict(
    open_page: OpenPage, control: SimulatorClient, browser: Browser
) -> None:
    first = await open_page()
    await pair(control, first)
    second = await first.context.new_page()  # same profile: same device token
    await second.goto(first.url)
    await second.wait_for_function("WPP.isReady && WPP.conn.isMainReady()")
    await first.wait_for_function("WPP.conn.getStreamData().mode === 'CONFLICT'")
    await first.evaluate("WPP.whatsapp.Socket.takeover()")
    await first.wait_for_function("WPP.conn.isMainReady()")
    await second.wait_for_function("WPP.conn.getStreamData().mode === 'CONFLICT'")


async def _reloaded(page: Page) -> None:
    await page.wait_for_function("WPP.isReady && WPP.conn.getStreamData().mode === 'QR'")


async def test_logout_from_the_page_reloads_to_a_fresh_qr(
    open_page: OpenPage, control: SimulatorClient
) -> None:
    page = await open_page()
    await pair(control, page)
    async with page.expect_event("load"):
        assert await page.evaluate("WPP.conn.logout()") is True
    await _reloaded(page)
    assert (await control.session(SESSION))["state"] == "qr"
    assert await page.evaluate("WPP.conn.getAuthCode()") is not None


async def test_logout_from_the_phone_gives_a_reason_then_reloads(
    open_page: OpenPage, control: SimulatorClient
) -> None:
    page = await open_page()
    await pair(control, page)
    reasons = asyncio.ensure_future(
        page.evaluate(
            """() => new Promise((resolve) => {
            const got = [];
            WPP.on('conn.logout_reason', (r) => got.push(r));
            WPP.on('conn.logout', () => resolve([...got, 'logout']));
        })"""
        )
    )
    await page.evaluate("1")  # page commands run in order: the listeners are on
    async with page.expect_event("load"):
        await control.action(SESSION, "logout")
        assert await reasons == ["user_initiated", "logout"]
    await _reloaded(page)
    assert (await control.session(SESSION))["auth_code"] is not None
