"""Memory per connected WhatsApp session, against a bare Chromium measured in the same run.

    .venv/bin/python bench/sessions_memory.py [--steps 1,5,10] [--chromium /usr/bin/chromium]

The production path: a `SessionManager` with the Playwright driver factory, on SQLite, against
an in-process simulator; sessions are added, paired through the control API and left
connected, up to each step's count. Every process the sessions added is counted: the
descendants of this process (Playwright's Node.js drivers and every Chromium process under
them) except the baseline's. The baseline, started first and kept running, is a bare Chromium
persistent context on about:blank (no WA-JS, no bridge) with CHROMIUM_ARGS, under a
Playwright of its own; its Node is reported apart. PSS (/proc/<pid>/smaps_rollup) splits a
shared page among the processes that map it, so every figure of a step is read at the same
moment, a few times, and averaged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from baseline import fresh_database
from playwright.async_api import async_playwright

from engine.events import EventBus
from engine.sessions import SessionManager, playwright_factory
from engine.settings import load_settings
from engine.whatsapp.chromium import CHROMIUM_ARGS
from engine.whatsapp.processes import (
    browser_pid,
    is_playwright_driver,
    parent_pid,
    private_kib,
    process_tree,
    pss_kib,
)
from engine.whatsapp.simulator import Simulator, SimulatorClient
from storage.db import Database
from storage.records import SessionState
from storage.repos import ClientRepo

CLIENT = "bench"
SAMPLES = 3
SETTLE_S = 3.0
CONNECT_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Step:
    """One step's figures, KiB: every process the sessions added, and the baseline's."""

    sessions: int
    processes: int
    nodes: int
    pss: int
    private: int
    bare_pss: int
    bare_private: int
    bare_node_pss: int


async def sample(sessions: int, bare_root: int, bare_node: int) -> Step:
    """Average ``SAMPLES`` reads, one a second, of the processes the sessions added."""
    reads: list[tuple[int, ...]] = []
    for _ in range(SAMPLES):
        await asyncio.sleep(1.0)
        bare = process_tree(bare_root)
        added = sorted(set(process_tree(os.getpid())) - {os.getpid(), bare_node, *bare})
        nodes = [pid for pid in added if is_playwright_driver(pid)]
        reads.append(
            (
                len(added),
                len(nodes),
                pss_kib(added),
                private_kib(added),
                pss_kib(bare),
                private_kib(bare),
                pss_kib([bare_node]),
            )
        )
    mean = [sum(read[i] for read in reads) // len(reads) for i in range(7)]
    return Step(sessions, reads[-1][0], reads[-1][1], *mean[2:])


async def measure(steps: list[int], chromium: Path, workdir: Path) -> list[Step]:
    """Start the bare baseline, then sessions up to each step, reading memory at each."""
    results: list[Step] = []
    async with AsyncExitStack() as stack:
        simulator = await stack.enter_async_context(Simulator(qr_rotate_s=600.0))
        control = await stack.enter_async_context(SimulatorClient(simulator.base_url))

        playwright = await stack.enter_async_context(async_playwright())
        bare_context = await playwright.chromium.launch_persistent_context(
            user_data_dir=workdir / "bare",
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        stack.push_async_callback(bare_context.close)
        page = bare_context.pages[0] if bare_context.pages else await bare_context.new_page()
        await page.goto("about:blank")
        bare_root = browser_pid(workdir / "bare")
        assert bare_root is not None, "bare Chromium process not found"
        bare_node = parent_pid(bare_root)
        assert bare_node is not None and is_playwright_driver(bare_node), "no Node for bare"

        db = Database(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
        stack.push_async_callback(db.shutdown)
        await fresh_database(db)
        await ClientRepo(db).add(CLIENT, "Bench", "AR", "America/Argentina/Buenos_Aires")
        settings = load_settings(
            _env_file=None,
            database_url=db.url,
            data_dir=workdir / "data",
            chromium_path=chromium,
            whatsapp_url=simulator.whatsapp_url,
            wa_js_path=simulator.wa_js_path,
        )
        manager = SessionManager(db, EventBus(), playwright_factory(settings), settings.data_dir)
        await stack.enter_async_context(manager)

        connected = 0
        for target in steps:
            while connected < target:
                name = f"s{connected}"
                session = await manager.add(CLIENT, name)
                await manager.pair(CLIENT, name)
                await control.scan(f"{CLIENT}-{name}", f"54911000000{connected:02d}")
                await manager.wait_for_state(
                    session.id, {SessionState.CONNECTED}, CONNECT_TIMEOUT_S
                )
                connected += 1
            await asyncio.sleep(SETTLE_S)
            step = await sample(target, bare_root, bare_node)
            results.append(step)
            print(f"  {target} connected: {step.processes} processes, {step.pss / 1024:.0f} MiB")
    return results


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def report(results: list[Step]) -> None:
    """One row per step: what the sessions added in all, per session and at the margin (what
    each session of the step added; for the first step, all of it), in PSS and in private
    memory (pages no other process maps, which adds up without PSS's sharing), next to the bare
    Chromium context's process tree (its Node apart)."""
    head = ["sessions", "procs", "nodes", "PSS", "PSS/sess", "marginal", "bare", "x bare"]
    head += ["private", "marginal", "bare", "x bare", "bare node"]
    rows = [head]
    previous = Step(0, 0, 0, 0, 0, 0, 0, 0)
    for step in results:
        added = step.sessions - previous.sessions
        pss = (step.pss - previous.pss) / added
        private = (step.private - previous.private) / added
        rows.append(
            [
                *(str(n) for n in (step.sessions, step.processes, step.nodes)),
                *(_mib(kib) for kib in (step.pss, step.pss / step.sessions, pss, step.bare_pss)),
                f"{pss / step.bare_pss:.2f}",
                *(_mib(kib) for kib in (step.private, private, step.bare_private)),
                f"{private / step.bare_private:.2f}",
                _mib(step.bare_node_pss),
            ]
        )
        previous = step
    print("MiB; procs and nodes: the processes the sessions added, and how many are Node")
    for row in rows:
        print(" ".join(f"{cell:>9}" for cell in row))


async def run(steps: list[int], chromium: Path) -> None:
    """Measure and print."""
    with tempfile.TemporaryDirectory(prefix="waops-bench-") as tmp:
        results = await measure(steps, chromium, Path(tmp))
    report(results)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="PSS per connected WhatsApp session")
    parser.add_argument("--steps", default="1,5,10", help="connected sessions to measure at")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    args = parser.parse_args()
    steps = sorted({int(n) for n in args.steps.split(",")})
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(steps, args.chromium))


if __name__ == "__main__":
    main()
