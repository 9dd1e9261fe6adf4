"""Memory per connected WhatsApp session, against a bare Chromium measured in the same run.

    .venv/bin/python bench/sessions_memory.py [--sessions 3] [--chromium /usr/bin/chromium]

Starts N driver sessions against an in-process simulator and pairs them; then, while they run,
opens a bare persistent Chromium context on a blank page with the same flags. Prints each one's
PSS (/proc/<pid>/smaps_rollup summed over the browser's process tree; shared pages are split
among all the browsers, so every figure is taken at the same moment) and private memory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from playwright.async_api import async_playwright

from engine.whatsapp import DriverConfig, DriverEvent, StreamMode, StreamModeChanged
from engine.whatsapp.playwright_driver import CHROMIUM_ARGS, PlaywrightDriver
from engine.whatsapp.processes import browser_pid, private_kib, process_tree, pss_kib
from engine.whatsapp.simulator import Simulator, SimulatorClient

logger = logging.getLogger(__name__)

Row = tuple[str, int, int]  # label, PSS KiB, private KiB


async def start_paired(
    stack: AsyncExitStack, simulator: Simulator, chromium: Path, workdir: Path, name: str
) -> PlaywrightDriver:
    """One driver session, paired through the control API, stopped when ``stack`` closes."""
    connected = asyncio.Event()

    async def on_event(event: DriverEvent) -> None:
        if isinstance(event, StreamModeChanged) and event.mode is StreamMode.MAIN:
            connected.set()

    driver = PlaywrightDriver(
        DriverConfig(
            session_name=name,
            chromium_path=chromium,
            whatsapp_url=simulator.whatsapp_url,
            wa_js_path=Path(simulator.wa_js_path),
            profile_dir=workdir / name,
            device_name="waops bench",
        )
    )
    stack.push_async_callback(driver.stop)
    await driver.start(on_event)
    async with SimulatorClient(simulator.base_url) as control:
        await control.scan(name, "5491100000000")
    await asyncio.wait_for(connected.wait(), timeout=30)
    assert (await driver.status()).logged_in
    return driver


async def measure(count: int, chromium: Path, workdir: Path) -> list[Row]:
    """A row for the bare browser and one per session, read while all of them are alive."""
    async with AsyncExitStack() as stack:
        simulator = await stack.enter_async_context(Simulator(qr_rotate_s=600.0))
        drivers = [
            await start_paired(stack, simulator, chromium, workdir, f"bench-s{n}")
            for n in range(count)
        ]
        playwright = await stack.enter_async_context(async_playwright())
        bare = await playwright.chromium.launch_persistent_context(
            user_data_dir=workdir / "bare",
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        stack.push_async_callback(bare.close)
        page = bare.pages[0] if bare.pages else await bare.new_page()
        await page.goto("about:blank")
        bare_pid = browser_pid(workdir / "bare")
        assert bare_pid is not None, "bare Chromium process not found"
        trees = [("bare Chromium, blank page", process_tree(bare_pid))]
        trees += [(f"session {n} (paired)", d.pids()) for n, d in enumerate(drivers)]
        return [(label, pss_kib(pids), private_kib(pids)) for label, pids in trees]


def report(rows: list[Row]) -> None:
    """Print PSS and private memory of each row, with ratios to the bare browser."""
    figures = rows
    _, bare_pss, bare_private = figures[0]
    print(f"{'what':<28}{'PSS MiB':>9}{'x bare':>8}{'private MiB':>13}{'x bare':>8}")
    for label, pss, private in figures:
        print(
            f"{label:<28}{pss / 1024:>9.1f}{pss / bare_pss:>8.2f}"
            f"{private / 1024:>13.1f}{private / bare_private:>8.2f}"
        )
    sessions = figures[1:]
    mean_pss = sum(f[1] for f in sessions) / len(sessions)
    mean_private = sum(f[2] for f in sessions) / len(sessions)
    print(
        f"{'mean per session':<28}{mean_pss / 1024:>9.1f}{mean_pss / bare_pss:>8.2f}"
        f"{mean_private / 1024:>13.1f}{mean_private / bare_private:>8.2f}"
    )
    print(f"added per session over bare: {(mean_pss - bare_pss) / 1024:.1f} MiB PSS")


async def run(count: int, chromium: Path) -> None:
    """Measure and print."""
    with tempfile.TemporaryDirectory(prefix="waops-bench-") as tmp:
        rows = await measure(count, chromium, Path(tmp))
    report(rows)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="PSS per connected WhatsApp session")
    parser.add_argument("--sessions", type=int, default=3, help="connected sessions to start")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.chromium))


if __name__ == "__main__":
    main()
