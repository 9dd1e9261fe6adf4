"""Drive the simulator's fake ``window.WPP`` directly with Playwright (no driver, no bridge)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from engine.whatsapp.simulator import Simulator, SimulatorClient, fake_bundle_path
from tests.engine.whatsapp.conftest import BUSINESS_PHONE, CHROMIUM, SESSION

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Installed after the bundle, as a bridge would: it records every event listed, from the
# moment WPP exists, with models reduced to plain data.
RECORDER = """
(() => {
  const plain = (v) => {
    if (v == null || typeof v !== 'object') return v;
    if (typeof v._serialized === 'string') return v._serialized;
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v.serialize === 'function') {
      const out = plain(v.serialize());
      for (const k of ['isMedia', 'isNotification', 'isSentByMe', 'isGroupMsg', 'isStatusV3']) {
        out[k] = v[k];
      }
      out.__object = v;
      return out;
    }
    if (v instanceof Error) return { message: v.message };
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  };
  window.__seen = [];
  window.__objects = [];
  const names = %s;
  for (const name of names) {
    WPP.on(name, (...args) => {
      const data = args.map(plain);
      for (const d of data) {
        if (d && d.__object) { window.__objects.push(d.__object); delete d.__object; }
      }
      window.__seen.push({ name, args: data, ready: WPP.isReady, full: WPP.isFullReady });
    });
  }
})();
"""
EVENTS = [
    "chat.new_message",
    "chat.msg_ack_change",
    "conn.auth_code_change",
    "conn.qrcode_idle",
    "conn.require_auth",
    "conn.authenticated",
    "conn.logout",
    "conn.logout_reason",
    "conn.main_ready",
    "conn.online",
    "conn.stream_mode_changed",
    "conn.link_code_change",
    "conn.link_code_expired",
    "conn.link_code_error",
]

OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Real Chromium, loopback only."""
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        await launched.close()


def page_opener(browser: Browser, simulator: Simulator) -> OpenPage:
    """``await open_page(session)``: a fresh profile on ``/s/<session>`` with the fake bundle
    injected before the page and the event recorder after it; waits for ``WPP.isReady``."""

    async def open_page(session: str = SESSION, *, wait_ready: bool = True) -> Page:
        context = await browser.new_context()
        await context.add_init_script(path=str(fake_bundle_path()))
        await context.add_init_script(RECORDER % json.dumps(EVENTS))
        page = await context.new_page()
        await page.goto(f"{simulator.base_url}/s/{session}")
        if wait_ready:
            await page.wait_for_function("WPP.isReady")
        return page

    return open_page


@pytest.fixture
def open_page(browser: Browser, simulator: Simulator) -> OpenPage:
    """Pages on the default ``simulator``."""
    return page_opener(browser, simulator)


async def seen(page: Page, name: str) -> list[dict[str, Any]]:
    """Every recorded ``name`` event: ``{"args": [...], "ready": bool, "full": bool}``."""
    return list(await page.evaluate("(n) => __seen.filter((e) => e.name === n)", name))


async def wait_seen(page: Page, name: str, count: int = 1, timeout_s: float = 10.0) -> None:
    """Wait until ``name`` was recorded ``count`` times."""
    await page.wait_for_function(
        "([n, c]) => __seen.filter((e) => e.name === n).length >= c",
        arg=[name, count],
        timeout=timeout_s * 1000,
    )


async def rejection(page: Page, script: str, arg: Any = None) -> dict[str, Any]:
    """Run an async page function expected to throw; returns ``{code, message, name}``."""
    wrapped = f"""async (arg) => {{
        try {{ await ({script})(arg); return null; }}
        catch (e) {{ return {{ code: e.code ?? null, message: e.message, name: e.name,
                               wpp: e instanceof WPP.util.WPPError }}; }}
    }}"""
    result = await page.evaluate(wrapped, arg)
    assert result is not None, f"{script} did not throw"
    return dict(result)


async def pair(control: SimulatorClient, page: Page, session: str = SESSION) -> None:
    """Scan the QR and wait until the stream is MAIN and the page fully ready."""
    await control.scan(session, BUSINESS_PHONE)
    await page.wait_for_function("WPP.conn.isMainReady() && WPP.isFullReady")
