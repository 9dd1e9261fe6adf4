"""The pinned real WA-JS bundle has every function and event the bridge uses.

The names are read from the bridge's parts themselves, so a new use is checked without editing
this file; the signatures and options are checked by ``make typecheck-js`` against the package's
.d.ts files.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from engine.whatsapp.page_events import BRIDGE_JS_PATHS
from engine.whatsapp.simulator import Simulator, fake_bundle_path
from tests.engine.whatsapp.conftest import CHROMIUM, local_site

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "node_modules" / "@wppconnect" / "wa-js" / "dist" / "wppconnect-wa.js"
BRIDGE = "\n".join(part.read_text(encoding="utf-8") for part in BRIDGE_JS_PATHS)

# Every `WPP.a.b(...)` / `WPP.a` the bridge touches, and every event it subscribes to.
USED = sorted(set(re.findall(r"\bWPP\.((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)", BRIDGE)))
EVENTS = sorted(set(re.findall(r"\bWPP\.on\('([a-z_.]+)'", BRIDGE)))

# The names in USED that `page` lacks. WPP.whatsapp.* are WhatsApp Web's own modules, which WA-JS
# resolves lazily (src/whatsapp/exportModule.ts): off WhatsApp Web only the export names exist
# (their members are checked by tsc against the .d.ts).
_MISSING = """(paths) => paths.filter((path) => {
  const parts = path.split('.');
  if (parts[0] === 'whatsapp') return !(parts[1] in WPP.whatsapp);
  let value = WPP;
  for (const key of parts) {
    if (value == null || !(key in Object(value))) return true;
    value = value[key];
  }
  return value === undefined;
})"""


def test_the_bridge_uses_what_this_test_expects_to_find() -> None:
    # The extraction itself: if these were empty every check below would pass vacuously.
    for name in ("chat.find", "chat.generateMessageID", "chat.sendTextMessage", "on"):
        assert name in USED
    assert "whatsapp.Socket.takeover" in USED and "contact.getPnLidEntry" in USED
    assert {"chat.downloadMedia", "chat.sendFileMessage"} <= set(USED)  # bridge/media.js
    assert {"chat.new_message", "conn.link_code_expired", "conn.qrcode_idle"} <= set(EVENTS)
    assert len(EVENTS) == BRIDGE.count("WPP.on(")


@pytest.fixture
async def blank_page_url() -> AsyncIterator[str]:
    """A plain local page (WA-JS injects anywhere; it only gets ready on WhatsApp Web)."""
    async with local_site({"/": ("<!doctype html><title>blank</title>", "text/html")}) as url:
        yield url


async def _missing_names(page: Page, url: str, bundle: Path) -> list[str]:
    await page.add_init_script(script="window.WPPConfig = {disableGoogleAnalytics: true};")
    await page.add_init_script(path=bundle)
    await page.goto(url)
    await page.wait_for_function("() => !!window.WPP", timeout=15_000)
    missing: list[str] = await page.evaluate(_MISSING, USED)
    return missing


@pytest.mark.skipif(not BUNDLE.exists(), reason=f"{BUNDLE} missing: run `npm ci` first")
async def test_real_bundle_has_every_name_the_bridge_uses(blank_page_url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            assert await _missing_names(page, blank_page_url, BUNDLE) == []
            # The check can fail: a name the bundle lacks is reported.
            assert await page.evaluate(_MISSING, ["chat.sendTextMesage", "whatsapp.Sockt"]) == [
                "chat.sendTextMesage",
                "whatsapp.Sockt",
            ]
            assert await page.evaluate("WPP.isReady") is False
            assert str(await page.evaluate("WPP.version")).startswith("4.6.")
        finally:
            await browser.close()


@pytest.mark.skipif(not BUNDLE.exists(), reason=f"{BUNDLE} missing: run `npm ci` first")
def test_real_bundle_emits_every_event_the_bridge_subscribes_to() -> None:
    bundle = BUNDLE.read_text(encoding="utf-8")
    for event in EVENTS:
        assert f'"{event}"' in bundle or f"'{event}'" in bundle, f"WA-JS never emits {event}"


def test_the_simulator_emits_every_event_the_bridge_subscribes_to() -> None:
    fake = fake_bundle_path().read_text(encoding="utf-8")
    missing = [event for event in EVENTS if f"'{event}'" not in fake]
    assert missing == [], f"the simulator never emits {missing}"


async def test_the_simulator_has_every_name_the_bridge_uses() -> None:
    async with Simulator(qr_rotate_s=60.0) as simulator, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            url = simulator.whatsapp_url.replace("{session}", "names-check")
            assert await _missing_names(page, url, Path(simulator.wa_js_path)) == []
        finally:
            await browser.close()
