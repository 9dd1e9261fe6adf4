"""The pinned real WA-JS bundle still has every name the driver and the simulator rely on."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import async_playwright

from engine.whatsapp.page_events import BRIDGE_JS_PATH
from engine.whatsapp.simulator import FAKE_BUNDLE_PATH
from tests.engine.whatsapp.conftest import CHROMIUM

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "node_modules" / "@wppconnect" / "wa-js" / "dist" / "wppconnect-wa.js"

FUNCTIONS = [
    "on",
    "once",
    "off",
    "loader.onReady",
    "conn.getAuthCode",
    "conn.refreshQR",
    "conn.genLinkDeviceCodeForPhoneNumber",
    "conn.isAuthenticated",
    "conn.isRegistered",
    "conn.getStreamData",
    "conn.isOnline",
    "conn.logout",
    "conn.getMyUserId",
    "chat.sendTextMessage",
    "chat.markIsComposing",
    "contact.queryWidExists",
]
EVENTS = [
    "conn.auth_code_change",
    "conn.link_code_change",
    "conn.authenticated",
    "conn.logout",
    "conn.logout_reason",
    "conn.stream_mode_changed",
    "conn.stream_info_changed",
    "conn.online",
    "chat.new_message",
    "chat.msg_ack_change",
]
_FIND = """(paths) => paths.filter((path) => {
  const value = path.split('.').reduce((obj, key) => (obj == null ? undefined : obj[key]), WPP);
  return typeof value !== 'function';
})"""


@pytest.fixture
async def blank_page_url() -> AsyncIterator[str]:
    """A plain local page (WA-JS injects anywhere; it only gets ready on WhatsApp Web)."""
    app = web.Application()

    async def index(_: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>blank</title>", content_type="text/html")

    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


@pytest.mark.skipif(not BUNDLE.exists(), reason=f"{BUNDLE} missing: run `npm ci` first")
async def test_real_bundle_exposes_what_the_driver_uses(blank_page_url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.add_init_script(script="window.WPPConfig = {disableGoogleAnalytics: true};")
            await page.add_init_script(path=BUNDLE)
            await page.goto(blank_page_url)
            await page.wait_for_function("() => !!window.WPP", timeout=15_000)
            assert await page.evaluate(_FIND, FUNCTIONS) == []
            assert await page.evaluate("WPP.isReady") is False
            assert str(await page.evaluate("WPP.version")).startswith("4.")
        finally:
            await browser.close()


@pytest.mark.skipif(not BUNDLE.exists(), reason=f"{BUNDLE} missing: run `npm ci` first")
def test_real_bundle_names_the_events_the_bridge_subscribes_to() -> None:
    bundle = BUNDLE.read_text(encoding="utf-8")
    bridge = BRIDGE_JS_PATH.read_text(encoding="utf-8")
    fake = FAKE_BUNDLE_PATH.read_text(encoding="utf-8")
    subscribed = set(re.findall(r"WPP\.on\('([a-z_.]+)'", bridge))
    assert subscribed == set(EVENTS)
    for event in EVENTS:
        assert event.split(".", 1)[1] in bundle, f"WA-JS no longer knows {event}"
        # The fake has no managed link-code flow (the driver asks for codes directly).
        if event != "conn.link_code_change":
            assert f"'{event}'" in fake, f"the simulator never emits {event}"
