"""Pairing on the fake WPP: getAuthCode.ts, refreshQR.ts, registerQRCodeIdleEvent.ts,
genLinkDeviceCodeForPhoneNumber.ts and linkDeviceCodeLifecycle.ts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from engine.whatsapp.simulator import Simulator, SimulatorClient
from engine.whatsapp.simulator.client import SimulatorControlError
from tests.engine.whatsapp import simulator_page
from tests.engine.whatsapp.conftest import BUSINESS_PHONE, SESSION
from tests.engine.whatsapp.simulator_page import (
    OpenPage,
    page_opener,
    pair,
    rejection,
    seen,
    wait_seen,
)

browser = simulator_page.browser
open_page = simulator_page.open_page

pytestmark = pytest.mark.browser


async def test_auth_code_shape_and_refresh(open_page: OpenPage, control: SimulatorClient) -> None:
    page = await open_page()
    code = await page.evaluate("WPP.conn.getAuthCode()")
    assert set(code) == {"type", "ref", "staticKeyPair", "identityKeyPair", "secretKey", "fullCode"}
    assert code["type"] == "multidevice"
    parts = [code["ref"], code["staticKeyPair"], code["identityKeyPair"], code["secretKey"]]
    assert code["fullCode"] == ",".join(parts)
    assert code["fullCode"] == (await control.session(SESSION))["auth_code"]

    fresh = await page.evaluate("WPP.conn.refreshQR()")
    assert fresh["ref"] != code["ref"] and fresh["secretKey"] == code["secretKey"]
    await pair(control, page)
    assert await page.evaluate("WPP.conn.getAuthCode()") is None
    assert await page.evaluate("WPP.conn.refreshQR()") is None  # authenticated
    refused = await rejection(page, "() => WPP.conn.genLinkDeviceCodeForPhoneNumber('549110')")
    assert refused["code"] == "cannot_get_code_for_already_authenticated"
    assert refused["message"] == "Can't get code for already authenticated user"


@pytest.fixture
async def idle_simulator() -> AsyncIterator[Simulator]:
    """A QR that rotates fast and goes idle after two unscanned rotations."""
    async with Simulator(qr_rotate_s=0.3, qr_idle_after=2) as sim:
        yield sim


async def test_qr_goes_idle_and_refresh_qr_brings_a_fresh_one(
    browser: Browser, idle_simulator: Simulator
) -> None:
    page = await page_opener(browser, idle_simulator)()
    async with SimulatorClient(idle_simulator.base_url) as control:
        await wait_seen(page, "conn.qrcode_idle", timeout_s=5)
        codes = [e["args"][0] for e in await seen(page, "conn.auth_code_change")]
        assert len([c for c in codes if c]) == 3  # the first QR and two rotations
        assert await page.evaluate("WPP.conn.isIdle()")
        assert (await control.session(SESSION))["qr_idle"]
        with pytest.raises(SimulatorControlError, match="idle"):
            await control.scan(SESSION, BUSINESS_PHONE)

        fresh = await page.evaluate("WPP.conn.refreshQR()")
        assert fresh["fullCode"] == (await control.session(SESSION))["auth_code"]
        assert not await page.evaluate("WPP.conn.isIdle()")
        await pair(control, page)


async def test_qr_idle_on_demand(open_page: OpenPage, control: SimulatorClient) -> None:
    page = await open_page()
    await control.action(SESSION, "qr-idle")
    await wait_seen(page, "conn.qrcode_idle")
    assert len(await seen(page, "conn.require_auth")) == 1


@pytest.fixture
async def code_simulator() -> AsyncIterator[Simulator]:
    """Pairing codes that live 0.5 s."""
    async with Simulator(qr_rotate_s=60, link_code_ttl_s=0.5) as sim:
        yield sim


START = "(phone) => WPP.conn.startLinkDeviceCodeForPhoneNumber(phone)"


async def test_link_code_refreshes_five_times_then_expires(
    browser: Browser, code_simulator: Simulator
) -> None:
    page = await page_opener(browser, code_simulator)()
    first = await page.evaluate(START, BUSINESS_PHONE)
    assert len(first) == 8 and first.isalnum()
    assert await page.evaluate(START, BUSINESS_PHONE) == first  # the same flow reuses it
    await wait_seen(page, "conn.link_code_expired", timeout_s=10)
    codes = [e["args"][0] for e in await seen(page, "conn.link_code_change")]
    assert codes[0] == first and len(codes) == 6 and len(set(codes)) == 6


async def test_only_the_current_code_links(open_page: OpenPage, control: SimulatorClient) -> None:
    page = await open_page()
    first = await page.evaluate(START, BUSINESS_PHONE)
    assert (await control.session(SESSION))["link_code"] == first
    await control.action(SESSION, "expire-link-code")  # WhatsApp ends it: the flow refreshes
    await wait_seen(page, "conn.link_code_change", 2)
    second = (await seen(page, "conn.link_code_change"))[1]["args"][0]
    assert second != first
    with pytest.raises(SimulatorControlError, match="not the current code"):
        await control.scan(SESSION, BUSINESS_PHONE, code=first)
    with pytest.raises(SimulatorControlError, match="issued for"):
        await control.scan(SESSION, "5491199990000", code=second)
    await control.scan(SESSION, BUSINESS_PHONE, code=second)
    await wait_seen(page, "conn.authenticated")
    await page.wait_for_function("WPP.conn.isMainReady()")


async def test_refresh_and_cancel(open_page: OpenPage, control: SimulatorClient) -> None:
    page = await open_page()
    no_flow = await rejection(page, "() => WPP.conn.refreshLinkDeviceCode()")
    assert no_flow["message"] == "No phone linking flow is active"
    first = await page.evaluate(START, BUSINESS_PHONE)
    second = await page.evaluate("WPP.conn.refreshLinkDeviceCode()")
    assert second != first and (await control.session(SESSION))["link_code"] == second
    await page.evaluate("WPP.conn.cancelLinkDeviceCode()")
    assert (await rejection(page, "() => WPP.conn.refreshLinkDeviceCode()"))["message"] == (
        "No phone linking flow is active"
    )
    missing = await rejection(page, "() => WPP.conn.genLinkDeviceCodeForPhoneNumber('')")
    assert missing["code"] == "send_the_phone_number_to_connect"


async def test_expire_without_a_code_is_a_409(
    open_page: OpenPage, control: SimulatorClient
) -> None:
    await open_page()
    with pytest.raises(SimulatorControlError, match="no pairing code") as error:
        await control.action(SESSION, "expire-link-code")
    assert error.value.status == 409


async def test_unpaired_page_reports_ready_but_not_logged_in(open_page: OpenPage) -> None:
    page: Page = await open_page()
    state = await page.evaluate(
        """() => ({ready: WPP.isReady, auth: WPP.conn.isAuthenticated(),
                   mode: WPP.conn.getStreamData().mode})"""
    )
    assert state == {"ready": True, "auth": False, "mode": "QR"}
