"""One Playwright driver (a Node.js process) for every session of a SessionManager: shared, each
browser still on its own, and replaced when it dies."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from engine.sessions import SessionManager, playwright_factory
from engine.settings import load_settings
from engine.whatsapp import BrowserClosed
from engine.whatsapp import processes as procs
from engine.whatsapp.playwright_driver import PlaywrightDriver
from engine.whatsapp.playwright_host import PlaywrightHost
from engine.whatsapp.simulator import Simulator
from storage.records import SessionState
from tests.engine.whatsapp.conftest import Launch, driver_config
from tests.engine.whatsapp.recorder import EventRecorder
from tests.support.sim_world import POLICY, World

pytestmark = pytest.mark.browser

S = SessionState
PHONES = {"haby-main": "5491100000001", "marketing-main": "5491100000002"}
CONTACT = "5491155550000@c.us"


def new_nodes(before: set[int]) -> set[int]:
    """The Playwright drivers of this process started since ``before`` was taken."""
    return set(procs.playwright_drivers()) - before


def unwatched_manager(world: World) -> SessionManager:
    """A manager whose watchdog would take far longer than the test to find a dead page."""
    settings = load_settings(
        data_dir=world.data_dir,
        whatsapp_url=world.simulator.whatsapp_url,
        wa_js_path=world.simulator.wa_js_path,
    )
    make_driver, policy = playwright_factory(settings), replace(POLICY, watchdog_interval_s=600.0)
    manager = SessionManager(world.db, world.bus, make_driver, world.data_dir, policy)
    world.managers.append(manager)
    return manager


async def two_connected(world: World, manager: SessionManager | None = None) -> SessionManager:
    manager = manager or world.manager()
    for key in PHONES:
        await manager.add(*key.split("-"))
    await manager.start()
    for key, phone in PHONES.items():
        client, name = key.split("-")
        await world.connect(manager, client, name, phone)
    return manager


async def driver_of(manager: SessionManager, key: str) -> PlaywrightDriver:
    session = await manager.get(*key.split("-"))
    runner = manager.runner(session.id)
    assert runner is not None and isinstance(runner.driver, PlaywrightDriver)
    return runner.driver


async def reconnects(world: World, key: str, count: int) -> None:
    """``key`` goes through ``reconnecting`` after its first ``count`` states and connects."""
    await world.rec.wait(
        lambda: S.RECONNECTING in world.rec.states(key)[count:], f"{key} reconnecting"
    )
    await world.rec.wait_state(key, S.CONNECTED)


async def sends(world: World, manager: SessionManager, key: str, text: str) -> None:
    """``key`` sends ``text`` and the simulated WhatsApp has it."""
    session = await manager.get(*key.split("-"))
    await manager.send_text(session.id, CONTACT, text)
    assert text in [sent["body"] for sent in await world.sim.sent(key)]


async def test_the_sessions_of_a_manager_share_one_node_process(world: World) -> None:
    before = set(procs.playwright_drivers())
    manager = await two_connected(world)
    drivers = [await driver_of(manager, key) for key in PHONES]

    [node] = new_nodes(before)
    assert [d.node_pid for d in drivers] == [node, node]
    browsers = [d.browser_pid for d in drivers]
    assert None not in browsers and len(set(browsers)) == 2
    assert {procs.parent_pid(pid) for pid in browsers if pid is not None} == {node}

    await manager.stop()
    assert new_nodes(before) == set(), "the last session to stop stops Playwright's driver"


async def test_a_killed_browser_leaves_the_other_session_connected_and_sending(
    world: World,
) -> None:
    manager = await two_connected(world)
    victim = await driver_of(manager, "haby-main")
    node = victim.node_pid
    count = {key: len(world.rec.states(key)) for key in PHONES}
    assert victim.browser_pid is not None and node is not None

    os.kill(victim.browser_pid, signal.SIGKILL)
    await world.rec.wait(
        lambda: S.RECONNECTING in world.rec.states("haby-main")[count["haby-main"] :],
        "haby-main reconnecting after the kill",
    )
    await sends(world, manager, "marketing-main", "sigo conectado")
    await reconnects(world, "haby-main", count["haby-main"])

    assert len(world.rec.states("marketing-main")) == count["marketing-main"]
    assert (await driver_of(manager, "haby-main")).node_pid == node  # a new browser, same Node
    assert (await driver_of(manager, "marketing-main")).node_pid == node
    await sends(world, manager, "haby-main", "volví")
    await sends(world, manager, "marketing-main", "y yo sigo")


async def test_when_node_dies_every_session_reconnects_on_a_new_one(world: World) -> None:
    before = set(procs.playwright_drivers())
    manager = await two_connected(world, unwatched_manager(world))
    [node] = new_nodes(before)
    count = {key: len(world.rec.states(key)) for key in PHONES}

    os.kill(node, signal.SIGKILL)
    # Noticed within the recorder's 30 s although the watchdog looks every ten minutes: the
    # host tells each driver (BrowserClosed), or a call in flight fails first.
    for key in PHONES:
        await reconnects(world, key, count[key])

    [fresh] = new_nodes(before)
    assert fresh != node and not procs.alive(node)
    for key in PHONES:
        assert (await driver_of(manager, key)).node_pid == fresh
        await sends(world, manager, key, f"de vuelta {key}")


async def test_a_dead_playwright_is_replaced_on_the_next_start(
    simulator: Simulator, tmp_path: Path
) -> None:
    before = set(procs.playwright_drivers())
    host = PlaywrightHost()
    first, second = (
        PlaywrightDriver(driver_config(simulator, tmp_path / name, f"haby-{name}"), host=host)
        for name in ("main", "ventas")
    )
    events = EventRecorder(), EventRecorder()
    try:
        await first.start(events[0])
        await second.start(events[1])
        node = host.node_pid
        assert node is not None and first.node_pid == node == second.node_pid

        os.kill(node, signal.SIGKILL)
        for recorder in events:
            await recorder.expect(BrowserClosed)
        assert host.node_pid is None
        await first.stop()
        # `second` still holds the dead one: the next start must not be handed it.
        await first.start(EventRecorder())
        assert first.node_pid not in (None, node) and await first.is_alive(5.0)
        await second.stop()
        assert new_nodes(before) == {first.node_pid}
    finally:
        await first.stop()
        await second.stop()
    assert new_nodes(before) == set()


async def test_a_driver_without_a_host_has_a_playwright_of_its_own(
    launch: Launch, simulator: Simulator, tmp_path: Path
) -> None:
    before = set(procs.playwright_drivers())
    one, _ = await launch()
    other, _ = await launch(driver_config(simulator, tmp_path / "other", "haby-other"))
    assert one.node_pid is not None and other.node_pid is not None
    assert one.node_pid != other.node_pid
    assert new_nodes(before) == {one.node_pid, other.node_pid}
    await one.stop()
    assert new_nodes(before) == {other.node_pid}
