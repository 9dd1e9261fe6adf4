"""Catch-up on real Chromium (issue 13, SIGKILL row): the page receives a message, stores it and
acknowledges it to WhatsApp (the simulator then never delivers it again), but the engine's
pipeline is gone before the spool sees it and the browser is killed. After the restart the
message comes back from the page's own store (IndexedDB in the profile) and is stored once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from engine.events import InboundReceived
from engine.inbound.spool import InboundSpool
from engine.listener import ListenerPolicy
from engine.sessions import SessionManager
from engine.whatsapp.playwright_driver import PlaywrightDriver
from storage.repos import ContactRepo, MessageRepo
from tests.support.listener import make_listener
from tests.support.sim_world import TIMEOUT_S, S, World

pytestmark = pytest.mark.browser

BUSINESS = "5491100000001"
ANA = "5491155550000"


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll what no event of ours announces (the simulator's queue, rows in the database)."""
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while not await check():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class Engine:
    """The listener and the sessions of one `waops run`, on one spool file."""

    def __init__(self, world: World, spool: Path) -> None:
        self.world = world
        self.manager: SessionManager = world.manager()
        self.listener = make_listener(
            world.db,
            world.bus,
            self.manager,
            llm=None,
            default_model="gpt-test",
            spool=InboundSpool(spool),
            policy=ListenerPolicy(typing_scale=0.0),
        )

    async def start(self) -> None:
        await self.listener.start()
        await self.manager.start()


@pytest.fixture
async def engines(world: World, tmp_path: Path) -> AsyncIterator[list[Engine]]:
    made: list[Engine] = []
    try:
        yield made
    finally:
        for engine in made:
            await engine.manager.stop()
            await engine.listener.stop()


async def test_a_message_acknowledged_just_before_a_kill_is_stored_once_after_the_restart(
    world: World, engines: list[Engine], tmp_path: Path
) -> None:
    first = Engine(world, tmp_path / "inbound.spool")
    engines.append(first)
    session = await first.manager.add("haby", "main")
    await first.start()
    await world.connect(first.manager, "haby", "main", BUSINESS)
    await world.sim.inbound("haby-main", ANA, "hola", name="Ana")
    await world.rec.wait(lambda: len(world.rec.of(InboundReceived)) == 1, "the first message")
    await first.listener.run_until_idle()

    # The process is dying: its inbound pipeline is gone, the page still receives the next
    # message, stores it and confirms it to the simulator (which forgets it, as WhatsApp does).
    await first.listener.stop()
    await world.sim.inbound("haby-main", ANA, "¿siguen ahí?", name="Ana")
    await world.rec.wait(lambda: len(world.rec.of(InboundReceived)) == 2, "the page's event")

    async def confirmed() -> bool:
        return bool((await world.sim.session("haby-main"))["queued"] == 0)

    await _until(confirmed, "the page's receipt")
    runner = first.manager.runner(session.id)
    assert runner is not None and isinstance(runner.driver, PlaywrightDriver)
    for pid in runner.driver.pids():
        os.kill(pid, signal.SIGKILL)
    await first.manager.stop()

    again = Engine(world, tmp_path / "inbound.spool")
    engines.append(again)
    await again.start()
    await world.rec.wait_state("haby-main", S.CONNECTED)
    contact = await ContactRepo(world.db).get(session.client_id, ANA)

    async def both_stored() -> bool:
        return len(await MessageRepo(world.db).conversation(contact.id)) >= 2

    await _until(both_stored, "the caught-up message")
    await again.listener.run_until_idle()
    stored = await MessageRepo(world.db).conversation(contact.id)
    # (Both were written within a second: their order is the whole second WhatsApp gives.)
    assert sorted(m.body for m in stored) == ["hola", "¿siguen ahí?"], "each stored once"
