"""Supervision on real Chromium against the simulator (issue 11, points 6 and 7): a conflict
is its own state that an operator takes over, pairing codes are renewed and delivered, an idle
QR is refreshed, a slow self-reload is not a dead page, and a logout ends logged out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.commands.dispatcher import Dispatcher
from bot.commands.parsing import parse_request
from bot.commands.registry import CommandRegistry
from bot.commands.sessions import SessionCommands
from engine.events import PairingCodeIssued, QrExpired, QrUpdated, SessionStateChanged
from engine.session.qr import qr_png
from engine.sessions import SessionManager
from storage.records import Role, SessionState
from storage.repos import AuditRepo, OperatorRepo
from tests.bot.commands.recording import RecordingReply
from tests.support.poll import poll_until
from tests.support.sim_world import World, decode_png

pytestmark = pytest.mark.browser

S = SessionState
OPERATOR = "tg:2"


@dataclass
class Desk:
    """The session commands of one operator, over the world's manager."""

    dispatcher: Dispatcher

    async def run(self, text: str, reply: RecordingReply | None = None) -> RecordingReply:
        reply = reply or RecordingReply()
        request = parse_request(text, actor=OPERATOR, platform="telegram", channel="chat")
        assert request is not None
        await self.dispatcher.dispatch(request, reply)
        return reply

    async def confirm(self, proposal: RecordingReply) -> RecordingReply:
        answer = RecordingReply()
        token = proposal.prompts[-1].token
        await self.dispatcher.confirm(token, actor=OPERATOR, platform="telegram", reply=answer)
        return answer


async def _desk(world: World, manager: SessionManager) -> Desk:
    operators = OperatorRepo(world.db)
    await operators.add(OPERATOR, Role.OPERATOR, ["haby"], language="en")
    commands = SessionCommands(manager, world.bus)
    await commands.start()
    registry = CommandRegistry(commands.commands())
    return Desk(Dispatcher(registry, operators, AuditRepo(world.db), default_language="en"))


async def _started(world: World) -> SessionManager:
    manager = world.manager()
    await manager.add("haby", "main")
    await manager.start()
    await world.rec.wait_state("haby-main", S.QR_PENDING)
    return manager


async def test_a_conflict_shows_in_sessions_and_takeover_brings_it_back(world: World) -> None:
    manager = await _started(world)
    desk = await _desk(world, manager)
    await world.connect(manager, "haby", "main", "5491100000001")
    before = len(world.rec.states("haby-main"))

    await world.sim.action("haby-main", "conflict")
    await world.rec.wait_state("haby-main", S.CONFLICT)
    listing = await desk.run("/sessions")
    assert "haby/main — conflict — +5491100000001" in listing.said
    assert "To use it here: /usehere haby main" in listing.said
    await asyncio.sleep(3)  # three watchdog rounds: nothing reconnects or takes over
    assert world.rec.states("haby-main")[before:] == [S.CONFLICT]
    assert (await world.sim.session("haby-main"))["conflict"] is True

    proposal = await desk.run("/usehere haby main")
    assert "loses it there" in proposal.prompts[0].text
    assert (await world.sim.session("haby-main"))["conflict"] is True, "not before the confirm"
    done = await desk.confirm(proposal)
    assert "haby/main is in use here again and connected." in done.said
    assert (await world.sim.session("haby-main"))["conflict"] is False
    assert world.rec.states("haby-main")[before:] == [S.CONFLICT, S.CONNECTED]


async def test_a_pairing_code_that_runs_out_is_renewed_delivered_and_accepted(
    world: World,
) -> None:
    manager = await _started(world)
    desk = await _desk(world, manager)
    reply = await desk.run("/pair haby main --code +5491100000001")
    first = (await world.sim.session("haby-main"))["link_code"]
    [message] = reply.progress_messages  # one message, edited as the code is renewed
    assert first and f"Pairing code for +5491100000001: {first}" in message.updates[0]

    await world.sim.action("haby-main", "expire-link-code")
    await world.rec.wait(
        lambda: len(world.rec.of(PairingCodeIssued, "haby-main")) == 2, "the renewed code"
    )
    renewed = world.rec.of(PairingCodeIssued, "haby-main")[-1]
    assert renewed.code != first and renewed.attempt == 2
    await poll_until(
        lambda: renewed.code in message.updates[-1],
        "the renewed code to reach the operator",
        30,
        every_s=0.05,
    )
    assert message.updates[-1] == (
        f"The previous code ran out. New pairing code for +5491100000001: {renewed.code}"
    )
    assert renewed.code == (await world.sim.session("haby-main"))["link_code"]
    assert world.rec.of(QrExpired, "haby-main") == []

    await world.sim.scan("haby-main", "5491100000001", code=renewed.code)
    await world.rec.wait_state("haby-main", S.CONNECTED)
    await poll_until(
        lambda: "linked and connected" in reply.said, "the connected notice", 30, every_s=0.05
    )


async def test_an_idle_qr_is_refreshed_by_the_next_pair(world: World) -> None:
    manager = await _started(world)
    first = await manager.pair("haby", "main")
    await world.sim.action("haby-main", "qr-idle")
    await world.rec.wait(lambda: bool(world.rec.of(QrExpired, "haby-main")), "the expiry")

    fresh = await manager.pair("haby", "main")
    shown = (await world.sim.session("haby-main"))["auth_code"]
    assert fresh != first and fresh == shown
    assert world.rec.of(QrUpdated, "haby-main")[-1].code == fresh
    await world.sim.scan("haby-main", "5491100000001")  # an idle QR would be refused
    await world.rec.wait_state("haby-main", S.CONNECTED)


async def test_a_slow_self_reload_keeps_the_page(world: World) -> None:
    manager = await _started(world)
    await world.connect(manager, "haby", "main", "5491100000001")
    before = len(world.rec.of(SessionStateChanged, "haby-main"))
    # Longer than the policy's alive_timeout_s (5 s) and many watchdog rounds (1 s).
    await world.sim.reload("haby-main", ready_after_s=8)
    await asyncio.sleep(10)
    assert world.rec.states("haby-main")[before:] == [], world.rec.of(SessionStateChanged)[before:]
    assert S.RECONNECTING not in world.rec.states("haby-main")[before:]
    session = await manager.get("haby", "main")
    await manager.send_text(session.id, "5491155550000@c.us", "¿seguimos?")
    assert [s["body"] for s in await world.sim.sent("haby-main")] == ["¿seguimos?"]


async def test_an_operators_logout_ends_logged_out(world: World) -> None:
    manager = await _started(world)
    await world.connect(manager, "haby", "main", "5491100000001")
    before = len(world.rec.states("haby-main"))
    await manager.logout("haby", "main")
    await world.rec.wait_state("haby-main", S.LOGGED_OUT)
    await asyncio.sleep(3)
    assert world.rec.states("haby-main")[before:] == [S.LOGGED_OUT]
    qr = await manager.pair("haby", "main")
    assert decode_png(qr_png(qr)) == (await world.sim.session("haby-main"))["auth_code"]
