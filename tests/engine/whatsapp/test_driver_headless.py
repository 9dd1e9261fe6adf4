"""No target of a session's browser says it is headless or automated: the page, a dedicated
worker and a service worker (WhatsApp Web runs one), in the simulator and on a local page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from engine.whatsapp.chromium import launch_session_browser
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.simulator import SimulatorClient
from tests.engine.whatsapp.conftest import CHROMIUM, SESSION, Launch, local_site

pytestmark = pytest.mark.browser

# One line: it is also quoted inside a JS string for the workers.
_IDENTITY = (
    "({ua: navigator.userAgent, webdriver: navigator.webdriver, brands: navigator.userAgentData"
    " ? navigator.userAgentData.brands.map((b) => b.brand) : null})"
)
_PAGE = f"""<!doctype html><title>ua</title><script>
window.pageIdentity = () => {_IDENTITY};
window.workerIdentity = () => new Promise((resolve) => {{
  const w = new Worker(URL.createObjectURL(new Blob(['postMessage({_IDENTITY})'])));
  w.onmessage = (e) => resolve(e.data);
}});
window.serviceWorkerIdentity = async () => {{
  const reg = await navigator.serviceWorker.register('/sw.js');
  const worker = reg.active || reg.waiting || reg.installing;
  return new Promise((resolve) => {{
    navigator.serviceWorker.onmessage = (e) => resolve(e.data);
    const ask = () => worker.postMessage('who');
    if (worker.state === 'activated') ask();
    else worker.addEventListener('statechange', () => worker.state === 'activated' && ask());
  }});
}};
</script>"""
_SERVICE_WORKER = (
    "self.addEventListener('message', (e) => e.source.postMessage(" + _IDENTITY + "));"
)


def assert_not_headless(identity: dict[str, Any], *, page: bool = False) -> None:
    assert "HeadlessChrome" not in identity["ua"] and "Chrome/" in identity["ua"], identity
    assert identity["brands"] and not any("Headless" in b for b in identity["brands"]), identity
    if page:
        assert identity["webdriver"] is False, identity  # workers have no navigator.webdriver


@pytest.fixture
async def local_url() -> AsyncIterator[str]:
    """A page with a service worker script on 127.0.0.1 (a secure context for client hints)."""
    pages = {"/": (_PAGE, "text/html"), "/sw.js": (_SERVICE_WORKER, "text/javascript")}
    async with local_site(pages) as url:
        yield url


async def test_every_target_of_the_session_browser_looks_headful(
    local_url: str, tmp_path: Path
) -> None:
    async with async_playwright() as playwright:
        context = await launch_session_browser(
            playwright,
            executable=CHROMIUM,
            profile_dir=tmp_path / "profile",
            headless=True,
            timeout_s=30.0,
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            await page.goto(local_url)
            page_identity = await page.evaluate("pageIdentity()")
            assert_not_headless(page_identity, page=True)
            for target in ("workerIdentity()", "serviceWorkerIdentity()"):
                identity = await page.evaluate(target)
                assert_not_headless(identity)
                assert identity["ua"] == page_identity["ua"], target
                assert identity["brands"] == page_identity["brands"], target
        finally:
            await context.close()


async def test_the_driver_page_in_the_simulator_looks_headful(
    launch: Launch, control: SimulatorClient
) -> None:
    driver, _ = await launch()
    assert isinstance(driver, PlaywrightDriver) and driver._page is not None
    page_identity = await driver._page.evaluate(_IDENTITY)
    assert_not_headless(page_identity, page=True)
    worker = await driver._page.evaluate(
        """(source) => new Promise((resolve) => {
          const w = new Worker(URL.createObjectURL(new Blob([`postMessage(${source})`])));
          w.onmessage = (e) => resolve(e.data);
        })""",
        _IDENTITY,
    )
    assert_not_headless(worker)
    assert worker["ua"] == page_identity["ua"]
    # What the simulator's server saw on the wire.
    assert (await control.session(SESSION))["user_agent"] == page_identity["ua"]
