"""SessionManager on real Chromium against the simulator: the state machine of DESIGN.md."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.events import InboundReceived, QrUpdated, ReceiptUpdated, SessionStateChanged
from engine.inbound.receipts import ReceiptTracker
from engine.session.backups import backup_profile, restore_profile
from engine.session.qr import qr_png
from engine.whatsapp.playwright_driver import PlaywrightDriver
from storage.records import Direction, MessageStatus, NewMessage, Origin, SessionState
from storage.repos import ContactRepo, MessageRepo, SessionRepo
from tests.support.sim_world import World, decode_png

pytestmark = pytest.mark.browser

S = SessionState


async def test_pair_by_qr_talk_and_receipts(world: World) -> None:
    manager = world.manager()
    session = await manager.add("haby", "main")
    await manager.start()
    await world.rec.wait_state("haby-main", S.QR_PENDING)

    qr = await manager.pair("haby", "main")
    current = (await world.sim.session("haby-main"))["auth_code"]
    assert decode_png(qr_png(qr)) == current
    assert world.rec.of(QrUpdated, "haby-main")[-1].code == current

    await world.sim.scan("haby-main", "5491100000001")
    await world.rec.wait_state("haby-main", S.CONNECTED)
    stored = await SessionRepo(world.db).get("haby", "main")
    assert stored.state is S.CONNECTED
    assert stored.phone == "5491100000001"

    message_id = await world.sim.inbound("haby-main", "5491155550000", "hola")
    await world.rec.wait(lambda: bool(world.rec.of(InboundReceived)), "the inbound message")
    await asyncio.sleep(0.3)  # give a duplicate the chance to show up
    received = world.rec.of(InboundReceived)
    assert [(e.message.id, e.message.body, e.session.key) for e in received] == [
        (message_id, "hola", "haby-main")
    ]

    sent = await manager.send_text(session.id, received[0].message.chat_id, "¡Hola Ana!")
    assert [(s["id"], s["body"]) for s in await world.sim.sent("haby-main")] == [
        (sent.id, "¡Hola Ana!")
    ]

    contact = await ContactRepo(world.db).ensure(session.client_id, "5491155550000")
    await MessageRepo(world.db).add(
        NewMessage(
            session.client_id,
            contact.id,
            Direction.OUT,
            Origin.AI,
            "¡Hola Ana!",
            datetime.now(UTC),
            session_id=session.id,
            wa_message_id=sent.id,
            status=MessageStatus.SENT,
        )
    )
    await ReceiptTracker(world.db, world.bus).start()

    # WA-JS first reports ack 1 for our own new message (registerAckMessageEvent.ts), so wait
    # for each receipt by its level rather than by count.
    def receipts(ack: int) -> list[ReceiptUpdated]:
        return [e for e in world.rec.of(ReceiptUpdated) if e.ack == ack]

    await world.sim.ack("haby-main", sent.id, 3)
    await world.rec.wait(lambda: bool(receipts(3)), "the read receipt")
    await world.sim.ack("haby-main", sent.id, 2)  # a late "delivered" must not move it back
    await world.rec.wait(lambda: bool(receipts(2)), "the late receipt")
    [message] = await MessageRepo(world.db).conversation(contact.id)
    assert message.status is MessageStatus.READ


async def test_drop_restore_logout_and_fresh_qr(world: World) -> None:
    manager = world.manager()
    await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", "5491100000001")

    await world.sim.action("haby-main", "drop")
    await world.rec.wait_state("haby-main", S.DISCONNECTED)
    await world.sim.action("haby-main", "restore")
    await world.rec.wait_state("haby-main", S.CONNECTED)

    first_qr = world.rec.of(QrUpdated, "haby-main")[0].code
    await world.sim.action("haby-main", "logout")
    await world.rec.wait_state("haby-main", S.LOGGED_OUT)
    fresh = await manager.pair("haby", "main")
    assert fresh != first_qr
    assert fresh == (await world.sim.session("haby-main"))["auth_code"]
    await world.sim.scan("haby-main", "5491100000001")
    await world.rec.wait_state("haby-main", S.CONNECTED)


async def test_killed_browser_recovers_while_others_stay_connected(world: World) -> None:
    manager = world.manager()
    for client, name in (("haby", "main"), ("haby", "ventas"), ("marketing", "main")):
        await manager.add(client, name)
    await manager.start()
    phones = {
        "haby-main": "5491100000001",
        "haby-ventas": "5491100000002",
        "marketing-main": "5491100000003",
    }
    for key, phone in phones.items():
        client, name = key.split("-")
        await world.connect(manager, client, name, phone)

    # Each session hears only its own contacts.
    for key in phones:
        await world.sim.inbound(key, "5491155550000", f"hola {key}")
    await world.rec.wait(lambda: len(world.rec.of(InboundReceived)) == 3, "three inbound messages")
    assert sorted((e.session.key, e.message.body) for e in world.rec.of(InboundReceived)) == sorted(
        (key, f"hola {key}") for key in phones
    )

    victim = await manager.get("haby", "ventas")
    runner = manager.runner(victim.id)
    assert runner is not None and isinstance(runner.driver, PlaywrightDriver)
    pid = runner.driver.browser_pid
    assert pid is not None
    before = {key: len(world.rec.states(key)) for key in phones}
    os.kill(pid, signal.SIGKILL)
    await world.rec.wait(
        lambda: S.RECONNECTING in world.rec.states("haby-ventas")[before["haby-ventas"] :],
        "reconnecting after the kill",
    )
    await world.rec.wait_state("haby-ventas", S.CONNECTED)
    assert len(world.rec.states("haby-main")) == before["haby-main"]
    assert len(world.rec.states("marketing-main")) == before["marketing-main"]


async def test_engine_restart_comes_back_without_qr_and_backup_restores(world: World) -> None:
    manager = world.manager()
    await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", "5491100000001")
    await manager.stop()
    assert (await SessionRepo(world.db).get("haby", "main")).state is S.STOPPED

    qrs_before = len(world.rec.of(QrUpdated))
    again = world.manager()
    await again.start()
    await world.rec.wait_state("haby-main", S.CONNECTED)
    assert len(world.rec.of(QrUpdated)) == qrs_before, "no new QR after a restart"
    await again.stop()

    archive = backup_profile(
        world.data_dir, "haby", "main", world.data_dir / "backups", datetime.now(UTC)
    )
    moved = Path(str(world.data_dir) + "-moved")
    restore_profile(moved, "haby", "main", archive)
    settings_dir, world.data_dir = world.data_dir, moved
    restored = world.manager()
    await restored.start()
    await world.rec.wait_state("haby-main", S.CONNECTED)
    assert len(world.rec.of(QrUpdated)) == qrs_before, "a restored profile needs no QR"
    world.data_dir = settings_dir


async def test_banned_is_terminal(world: World) -> None:
    manager = world.manager()
    session = await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", "5491100000001")
    await world.sim.action("haby-main", "ban")
    await world.rec.wait_state("haby-main", S.BANNED)
    assert manager.runner(session.id) is None or manager.state(session.id) is S.BANNED
    await manager.stop()
    restarted = world.manager()
    await restarted.start()
    assert restarted.runner(session.id) is None, "a banned number is not started again"


async def test_watchdog_replaces_a_page_that_stopped_answering(world: World) -> None:
    manager = world.manager()
    await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", "5491100000001")
    before = len(world.rec.states("haby-main"))
    await world.sim.action("haby-main", "freeze")
    await world.rec.wait(
        lambda: S.RECONNECTING in world.rec.states("haby-main")[before:], "the watchdog to notice"
    )
    await world.rec.wait_state("haby-main", S.CONNECTED)
    reasons = [e.reason for e in world.rec.of(SessionStateChanged, "haby-main")[before:]]
    assert any("stopped answering" in (r or "") for r in reasons), reasons
