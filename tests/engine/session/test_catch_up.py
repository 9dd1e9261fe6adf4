"""Catch-up after a restart (issue 13, SIGKILL row): a message the page received (and acknowledged
to WhatsApp, which never sends it again) but that never reached the listener is read back from
the page's store after the next connect and stored once; what was stored is not stored again,
and only a caught-up message the contact is still waiting on gets an answer.

The page is the scripted driver (tests/support/scripted_driver.py); the real browser and the
simulator run the same story in tests/engine/whatsapp/test_catch_up_e2e.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.events import InboundReceived, SessionRef
from engine.inbound.spool import InboundSpool
from engine.listener import Listener, ListenerPolicy
from engine.session.catch_up import CatchUp, CatchUpPolicy
from engine.sessions import SessionManager
from engine.whatsapp.types import InboundMessage
from storage.db import Database
from storage.repos import AISettingsRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo
from tests.support.fakes.numbers import RecordingSender
from tests.support.listener import make_listener
from tests.support.session_rig import TIMEOUT_S, Rig, S, make_rig

ANA, BETO, CARLA, DANI = "5491155550000", "5491155550001", "5491155550002", "5491155550003"
BUSINESS = "5491100000001"
ANSWER = "Abrimos de 9 a 18."


def written(
    sender: str, key: str, body: str, *, ago_s: int = 0, from_me: bool = False
) -> InboundMessage:
    """A message as the page serialises it (`serialise` in bridge/inbound.js)."""
    chat = f"{sender}@c.us"
    return InboundMessage(
        id=f"{str(from_me).lower()}_{chat}_{key}",
        chat_id=chat,
        sender_id=f"{BUSINESS}@c.us" if from_me else chat,
        from_me=from_me,
        body=body,
        type="chat",
        timestamp=int(time.time()) - ago_s,
        notify_name=None if from_me else "Ana",
        is_group=False,
        quoted_id=None,
        peer_phone=chat,
        key_id=key,
    )


@dataclass
class World:
    rig: Rig
    client_id: int
    listener: Listener
    sender: RecordingSender
    inbound: list[InboundReceived]

    async def handed_over(self, key: str) -> None:
        """Wait until the message with key id `key` reached the listener, and was handled."""
        async with asyncio.timeout(TIMEOUT_S):
            while not any(e.message.key_id == key for e in self.inbound):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await self.listener.run_until_idle()

    async def first_start(self) -> SessionManager:
        """haby/main added, and a manager started until the page is connected."""
        manager = self.rig.manager()
        await manager.add("haby", "main")
        await manager.start()
        await self.rig.connected(manager)
        return manager

    async def restart(self) -> None:
        """The next process: a new manager on the same data, until it is connected again."""
        await self.rig.manager().start()
        await self.rig.wait_state(S.CONNECTED)

    async def stored(self, phone: str) -> list[tuple[str, str]]:
        contact = await ContactRepo(self.rig.db).get(self.client_id, phone)
        messages = reversed(await MessageRepo(self.rig.db).conversation(contact.id, 50))
        return [(m.direction.value, m.body) for m in messages]


@pytest.fixture
async def world(db: Database, tmp_path: Path) -> AsyncIterator[World]:
    rig = await make_rig(db, tmp_path / "data")
    client = await ClientRepo(db).get("haby")
    await AISettingsRepo(db).update(client.id, rule_replies=f"horario | horarios => {ANSWER}")
    sender = RecordingSender()
    listener = make_listener(
        db,
        rig.bus,
        sender,
        llm=None,
        default_model="gpt-test",
        spool=InboundSpool(tmp_path / "inbound.spool"),
        policy=ListenerPolicy(typing_scale=0.0),
    )
    await listener.start()
    inbound: list[InboundReceived] = []

    async def record(event: InboundReceived) -> None:
        inbound.append(event)

    rig.bus.subscribe(InboundReceived, record)
    try:
        yield World(rig, client.id, listener, sender, inbound)
    finally:
        for manager in rig.managers:
            await manager.stop()
        await listener.stop()


async def test_a_message_the_page_held_but_never_handed_over_is_stored_once_after_a_restart(
    world: World,
) -> None:
    manager = await world.first_start()
    page = world.rig.account.page
    page.message_arrives(written(ANA, "K1", "hola"))
    await world.handed_over("K1")
    # The page stores and acknowledges the next one, and the process dies before its event
    # reaches the spool: WhatsApp will never deliver it again.
    page.message_arrives(written(ANA, "K2", "¿siguen ahí?"), reaches_us=False)
    await world.listener.run_until_idle()
    assert await world.stored(ANA) == [("in", "hola")]
    await manager.stop()
    before = len(world.inbound)

    await world.restart()
    await world.handed_over("K2")

    assert await world.stored(ANA) == [("in", "hola"), ("in", "¿siguen ahí?")]
    assert [e.message.key_id for e in world.inbound[before:]] == ["K2"], (
        "the message stored before the restart is not handed over again"
    )


async def test_a_caught_up_message_is_stored_once_even_if_the_live_event_arrives_too(
    world: World,
) -> None:
    manager = await world.first_start()
    world.rig.account.page.message_arrives(written(ANA, "K1", "hola"))
    await world.handed_over("K1")
    await manager.stop()
    # Both paths hand over K2 after the restart: the page's store (catch-up) and a live
    # event racing it. The listener's dedupe by key id keeps one, acted on once.
    world.rig.account.store.append(written(ANA, "K2", "horario?"))
    await world.restart()
    await world.handed_over("K2")
    await world.rig.bus.publish(
        InboundReceived(world.inbound[-1].session, written(ANA, "K2", "horario?"))
    )
    await world.listener.run_until_idle()

    assert await world.stored(ANA) == [("in", "hola"), ("in", "horario?"), ("out", ANSWER)]
    assert world.sender.texts == [ANSWER], "answered once"


async def test_only_a_caught_up_message_the_contact_still_waits_on_is_answered(
    world: World, db: Database
) -> None:
    session = await SessionRepo(db).add(world.client_id, "main")
    ref = SessionRef(session.id, world.client_id, "haby", "main")
    account = world.rig.account
    account.linked = True
    page = account.driver()
    await page.start(lambda _event: asyncio.sleep(0))
    # Stored before the restart, an hour ago: catch-up looks back from there.
    stored_before = written(ANA, "A1", "hola", ago_s=3600)
    await world.rig.bus.publish(InboundReceived(ref, stored_before))
    await world.listener.run_until_idle()
    account.store += [
        stored_before,
        written(ANA, "A2", "horario?", ago_s=1800),  # its chat's newest, but half an hour old
        written(BETO, "B1", "horario?", ago_s=60),
        written(BETO, "B2", "ya te paso los horarios", ago_s=30, from_me=True),  # answered
        written(CARLA, "C1", "horario?", ago_s=10),  # newest and recent: still waiting
        written(DANI, "D1", "BAJA", ago_s=1000),  # an opt-out counts however old
    ]
    catch_up = CatchUp(ref, MessageRepo(db), world.rig.bus, CatchUpPolicy(reply_window_s=600))

    assert await catch_up.run(page) == 4
    await world.listener.run_until_idle()
    await page.stop()

    assert world.sender.sent == [(ref.session_id, f"{CARLA}@c.us", ANSWER, 0)]
    assert await world.stored(ANA) == [("in", "hola"), ("in", "horario?")]
    assert await world.stored(BETO) == [("in", "horario?")], "the phone's reply is not ours"
    dani = await ContactRepo(db).get(world.client_id, DANI)
    assert dani.opted_out_at is not None
    assert await world.stored(DANI) == [("in", "BAJA")], "no confirmation long after the fact"
