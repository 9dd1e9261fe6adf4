"""/sessions, /pair and /usehere through the dispatcher, on a SessionManager whose WhatsApp
side is the scripted driver (tests/support/scripted_driver.py) and a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.commands.confirmations import ConfirmOutcome
from bot.commands.dispatcher import Dispatcher, Incident
from bot.commands.parsing import parse_request
from bot.commands.registry import CommandRegistry
from bot.commands.sessions import SessionCommands
from engine.sessions import SessionManager
from storage.db import Database
from storage.records import AuditResult, Role
from storage.repos import AuditRepo, OperatorRepo, SessionRepo
from tests.bot.commands.recording import RecordingReply
from tests.support.scripted_driver import MAX_AUTO_REFRESHES
from tests.support.session_rig import Rig, S, make_rig

OPERATOR, OTHER_OPERATOR, VIEWER = "tg:2", "tg:5", "tg:3"


@dataclass
class Desk:
    rig: Rig
    manager: SessionManager
    dispatcher: Dispatcher
    incidents: list[Incident]

    async def run(self, actor: str, text: str) -> RecordingReply:
        reply = RecordingReply()
        request = parse_request(text, actor=actor, platform="telegram", channel="chat")
        assert request is not None
        await self.dispatcher.dispatch(request, reply)
        return reply

    async def press(self, actor: str, reply: RecordingReply) -> tuple[ConfirmOutcome, str]:
        answer = RecordingReply()
        outcome = await self.dispatcher.confirm(
            reply.prompts[-1].token, actor=actor, platform="telegram", reply=answer
        )
        return outcome, answer.said


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    rig = await make_rig(db, tmp_path / "data")
    operators = OperatorRepo(db)
    await operators.add(OPERATOR, Role.OPERATOR, ["haby"], language="en")
    await operators.add(OTHER_OPERATOR, Role.OPERATOR, ["haby"], language="en")
    await operators.add(VIEWER, Role.VIEWER, ["haby"], language="es")
    manager = rig.manager()
    await manager.add("haby", "main")
    await manager.start()
    await rig.wait_state(S.QR_PENDING)
    commands = SessionCommands(manager, rig.bus)
    await commands.start()
    registry = CommandRegistry(commands.commands())
    incidents: list[Incident] = []

    async def record(incident: Incident) -> None:
        incidents.append(incident)

    dispatcher = Dispatcher(
        registry, operators, AuditRepo(db), default_language="en", on_unexpected=record
    )
    try:
        yield Desk(rig, manager, dispatcher, incidents)
    finally:
        await manager.stop()
        assert incidents == [], [i.traceback for i in incidents[:1]]


async def _conflict(desk: Desk) -> None:
    await desk.rig.connected(desk.manager)
    desk.rig.account.page.whatsapp_opened_elsewhere()
    await desk.rig.wait_state(S.CONFLICT)


async def test_a_conflict_is_its_own_state_in_sessions_with_the_way_out(desk: Desk) -> None:
    await _conflict(desk)
    listing = await desk.run(VIEWER, "/sessions")
    assert "haby/main — conflict — +5491100000001" in listing.said
    assert "WhatsApp está abierto en otra ventana. Para usarlo acá: /usehere haby main" in (
        listing.said
    )
    refused = await desk.run(OPERATOR, "/pair haby main")
    assert "open in another window. To use it here: /usehere haby main" in refused.said
    assert refused.images == [] and desk.rig.account.page.calls.count("take_over") == 0


async def test_usehere_asks_first_and_only_its_proposer_confirms(desk: Desk) -> None:
    await _conflict(desk)
    assert "rol operator" in (await desk.run(VIEWER, "/usehere haby main")).said
    proposal = await desk.run(OPERATOR, "/usehere haby")
    [prompt] = proposal.prompts
    assert prompt.text == (
        "Use haby/main (+5491100000001) here? Whoever has WhatsApp open in the other window "
        "loses it there."
    )
    page = desk.rig.account.page
    assert "take_over" not in page.calls, "nothing happens before the confirmation"
    outcome, _said = await desk.press(OTHER_OPERATOR, proposal)
    assert outcome is ConfirmOutcome.NOT_YOURS and "take_over" not in page.calls

    outcome, said = await desk.press(OPERATOR, proposal)
    assert outcome is ConfirmOutcome.DONE
    assert said.endswith("haby/main is in use here again and connected.")
    session = await SessionRepo(desk.rig.db).get("haby", "main")
    assert page.calls.count("take_over") == 1 and desk.manager.state(session.id) is S.CONNECTED
    again = await desk.run(OPERATOR, "/usehere haby main")
    assert again.prompts == []
    assert "haby/main is not open in another window (it is connected)" in again.said
    audit = [(e.command, e.result) for e in await AuditRepo(desk.rig.db).recent(20)]
    assert ("usehere", AuditResult.OK) in audit and ("usehere", AuditResult.PROPOSED) in audit


async def test_a_pairing_code_that_runs_out_is_renewed_and_delivered(desk: Desk) -> None:
    reply = RecordingReply()
    request = parse_request(
        "/pair haby main --code +5491155550000", actor=OPERATOR, platform="telegram", channel="c"
    )
    assert request is not None
    await desk.dispatcher.dispatch(request, reply)
    [message] = reply.progress_messages  # one message per request, edited as codes change
    assert "Pairing code for +5491155550000: CODE0001" in message.updates[0]
    page = desk.rig.account.page
    page.link_code_runs_out()
    await desk.rig.until(lambda: "CODE0002" in message.updates[-1], "the renewed code")
    assert message.updates[-1] == (
        "The previous code ran out. New pairing code for +5491155550000: CODE0002"
    )
    for _ in range(MAX_AUTO_REFRESHES - 1):
        page.link_code_runs_out()
    page.link_code_runs_out()  # no renewals left
    await desk.rig.until(lambda: "expired unused" in reply.said, "the expiry notice")
    assert message.updates[-1].endswith("CODE0006") and len(message.updates) == 6
    assert not any("pairing code" in text.lower() for text in reply.texts[:-1])
    assert reply.texts[-1] == (
        "The pairing code for +5491155550000 expired unused (haby/main). "
        "Run /pair again when the phone is at hand."
    )
    assert reply.images == [], "no QR is pushed at someone typing a code"
    assert reply.progress_messages == [message]


async def test_a_second_pair_after_an_idle_qr_gets_a_fresh_one(desk: Desk) -> None:
    first = await desk.run(OPERATOR, "/pair haby main")
    assert len(first.images) == 1
    desk.rig.account.page.qr_goes_idle()
    await desk.rig.until(lambda: "Nobody scanned" in first.said, "the expiry notice")
    second = await desk.run(OPERATOR, "/pair haby main")
    assert len(second.images) == 1 and second.images[0][0] != first.images[0][0]
    assert "refresh_qr" in desk.rig.account.page.calls
