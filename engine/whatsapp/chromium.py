"""How Chromium is launched for WhatsApp Web: its flags and a user agent that does not say headless.

Headless Chromium reports ``HeadlessChrome/<v>`` in its user agent and ``navigator.webdriver`` is
true under automation. whatsapp-web.js (``src/Client.js``) launches with ``--user-agent=...`` and
``--disable-blink-features=AutomationControlled``; we do the same with the browser's own user agent
(only ``HeadlessChrome`` becomes ``Chrome``), so the version and the client hints still agree.
Playwright's ``user_agent`` option is not enough: it overrides pages through the Emulation domain
only, so WhatsApp's service worker keeps the headless one (microsoft/playwright#5237, measured here
on Chromium 156: the worker and the service worker then also report empty
``navigator.userAgentData.brands``). The command-line flag applies to every target and leaves the
client-hint metadata (``Sec-CH-UA``, brands "Chromium" and "Not-A.Brand" in new headless) intact.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from playwright.async_api import BrowserContext, Playwright
from playwright.async_api import Error as PlaywrightError

from engine.whatsapp.errors import ProfileInUse, SessionLost

logger = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# navigator.webdriver: Blink sets it from this feature; Playwright also adds --enable-automation.
STEALTH_ARGS = ["--disable-blink-features=AutomationControlled"]
IGNORED_DEFAULT_ARGS = ["--enable-automation"]

# Avatars, fonts and pictures the session never looks at. Blocked through CDP rather than a
# Playwright route: routing disables the HTTP cache and round-trips every request via Python.
# WhatsApp's media hosts are NOT blocked: WPP.chat.downloadMedia fetches the encrypted file
# through msg.downloadMedia (WA-JS 4.6.0 src/chat/functions/downloadMedia.ts l.93-97) and
# sendFileMessage uploads one, and Baileys downloads from https://mmg.whatsapp.net<directPath>
# (src/Utils/messages-media.ts DEF_HOST; docs/plans/issue-15-media.md 1.1), so blocking
# mmg.whatsapp.net / media*.whatsapp.net would break every download. pps.whatsapp.net serves
# profile pictures only. Not verified on a real session: which hosts WhatsApp Web uploads to, and
# that no media URL ends in one of the extensions below (WhatsApp's media paths end in ".enc").
HEAVY_URL_PATTERNS = [
    "*://pps.whatsapp.net/*",
    *(f"*.{ext}" for ext in ("png", "jpg", "jpeg", "gif", "webp", "ico", "mp4", "webm", "ogg")),
    *(f"*.{ext}" for ext in ("mp3", "woff", "woff2", "ttf", "otf")),
]

# The user agent of an executable, keyed by its path and its identity on disk (an upgrade of the
# package changes mtime and size): it is found once per process with a throwaway launch.
_user_agents: dict[tuple[str, int, int], str] = {}


async def user_agent_for(
    playwright: Playwright, executable: Path, *, headless: bool, timeout_s: float
) -> str:
    """The user agent ``executable`` reports, with ``HeadlessChrome`` replaced by ``Chrome``."""
    stat = await asyncio.to_thread(executable.stat)
    key = (str(executable), stat.st_mtime_ns, stat.st_size)
    if key not in _user_agents:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            headless=headless,
            args=CHROMIUM_ARGS,
            timeout=timeout_s * 1000,
        )
        try:
            cdp = await browser.new_browser_cdp_session()
            version = await cdp.send("Browser.getVersion")
        finally:
            await browser.close()
        if str(version.get("product", "")).startswith("HeadlessChrome"):
            # The old headless shell: its client hints name HeadlessChrome in every target and
            # no flag changes that. Regular Chromium (new headless) does not.
            logger.warning(
                "%s is the old headless shell (%s): its client hints reveal headless mode; "
                "use a regular Chromium build",
                executable,
                version.get("product"),
            )
        _user_agents[key] = str(version["userAgent"]).replace("HeadlessChrome", "Chrome")
    return _user_agents[key]


def launch_args(user_agent: str) -> list[str]:
    """The command line for a session's browser."""
    return [*CHROMIUM_ARGS, *STEALTH_ARGS, f"--user-agent={user_agent}"]


async def launch_session_browser(
    playwright: Playwright,
    *,
    executable: Path,
    profile_dir: Path,
    headless: bool,
    timeout_s: float,
) -> BrowserContext:
    """A persistent Chromium for one session whose every target (pages, workers, WhatsApp's
    service worker) reports the non-headless user agent and no ``navigator.webdriver``.

    ``ProfileInUse`` when another Chromium has the profile open, ``SessionLost`` for any other
    failure to launch.
    """
    try:
        user_agent = await user_agent_for(
            playwright, executable, headless=headless, timeout_s=timeout_s
        )
        return await playwright.chromium.launch_persistent_context(
            user_data_dir=profile_dir,
            executable_path=executable,
            headless=headless,
            args=launch_args(user_agent),
            ignore_default_args=IGNORED_DEFAULT_ARGS,
            timeout=timeout_s * 1000,
        )
    except OSError as exc:
        raise SessionLost(f"could not launch {executable}: {exc}") from exc
    except PlaywrightError as exc:
        if "ProcessSingleton" in exc.message or "in use" in exc.message:
            raise ProfileInUse(f"Chromium says {profile_dir} is in use") from exc
        raise SessionLost(f"could not launch {executable}: {exc.message}") from exc
