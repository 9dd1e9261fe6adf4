"""Operational commands through the dispatcher, on real engine services and the real database.

The WhatsApp side is faked at its port (tests/support/fakes/numbers.py); the campaign clock
is virtual.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.commands.assembly import EngineCommands, EngineServices, build_registry
from bot.commands.campaigns import MAX_VIEWS_PER_CAMPAIGN
from bot.commands.dispatcher import Dispatcher, Incident
from bot.commands.parsing import parse_request
from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.clock import VirtualClock
from engine.directory import Directory
from engine.events import EventBus
from engine.inbound.conversations import AIControl, Conversations
from engine.sessions import SessionManager, playwright_factory
from engine.settings import load_settings
from storage.db import Database
from storage.records import (
    AuditResult,
    ContactInput,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
    SessionState,
)
from storage.repos import AuditRepo, ContactRepo, MessageRepo, SessionRepo
from tests.bot.commands.recording import RecordingReply
from tests.support.fakes.numbers import FakeNumbers, RecordingSender

OWNER, OPERATOR, VIEWER, OTHER = "tg:1", "tg:2", "tg:3", "tg:4"
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@dataclass
class Ops:
    db: Database
    dispatcher: Dispatcher
    engine: CampaignEngine
    numbers: FakeNumbers
    sender: RecordingSender
    incidents: list[Incident]

    async def run(self, actor: str, text: str, **extra: object) -> RecordingReply:
        reply = RecordingReply()
        request = parse_request(text, actor=actor, platform="telegram", channel="chat")
        assert request is not None
        if extra:
            request = replace(request, **extra)  # type: ignore[arg-type]
        await self.dispatcher.dispatch(request, reply)
        return reply

    async def confirm(self, actor: str, reply: RecordingReply) -> RecordingReply:
        answer = RecordingReply()
        await self.dispatcher.confirm(
            reply.prompts[-1].token, actor=actor, platform="telegram", reply=answer
        )
        return answer


@pytest.fixture
async def ops(db: Database, tmp_path: Path) -> AsyncIterator[Ops]:
    directory = Directory(db)
    for slug in ("haby", "marketing"):
        await directory.add_client(slug, slug.title(), "AR", "America/Argentina/Buenos_Aires")
        await directory.add_session(slug, "main")
    await directory.add_operator(OWNER, "owner")
    await directory.add_operator(OPERATOR, "operator", ["haby"])
    await directory.add_operator(VIEWER, "viewer", ["haby"], language="es")
    await directory.add_operator(OTHER, "operator", ["marketing"])
    bus = EventBus()
    clock = VirtualClock(START)
    numbers = FakeNumbers(clock)
    sender = RecordingSender()
    engine = CampaignEngine(
        db, bus, numbers, PacingPolicy.unpaced(), clock=clock, rng=random.Random(3)
    )
    await engine.start()
    # Nothing here may reach the internet: a dead local URL in case a browser were started.
    settings = load_settings(data_dir=tmp_path, whatsapp_url="http://127.0.0.1:9/s/{session}")
    services = EngineServices(
        db=db,
        bus=bus,
        sessions=SessionManager(db, bus, playwright_factory(settings), tmp_path),
        campaigns=CampaignService(db, engine, PacingPolicy.unpaced(), random.Random(3)),
        conversations=Conversations(db, sender, bus),
        ai=AIControl(db),
    )
    registry = build_registry(directory, AuditRepo(db))
    engine_commands = EngineCommands(directory, services)
    await engine_commands.start()
    registry.extend(engine_commands.commands())
    incidents: list[Incident] = []

    async def record(incident: Incident) -> None:
        incidents.append(incident)

    dispatcher = Dispatcher(
        registry, directory.operators, AuditRepo(db), default_language="en", on_unexpected=record
    )
    yield Ops(db, dispatcher, engine, numbers, sender, incidents)
    await engine.stop()


def _campaign_id(reply: RecordingReply) -> int:
    found = re.search(r"Campaign #(\d+) created", reply.said)
    assert found is not None, reply.said
    return int(found.group(1))


async def _prospects(db: Database, *phones: str) -> None:
    client = (await Directory(db).clients.get("haby")).id
    await ContactRepo(db).upsert_many(
        client, [ContactInput(p, f"N{p[-1]}", ("feria",), {"ciudad": "Rosario"}) for p in phones]
    )


async def test_campaign_from_creation_to_report(ops: Ops) -> None:
    await _prospects(ops.db, "5491150000001", "5491150000002")
    created = await ops.run(
        OPERATOR, "/campaign new haby main feria {Hola|Buenas} {name}, te esperamos en {ciudad}!"
    )
    cid = _campaign_id(created)
    preview = await ops.run(VIEWER, f"/campaign preview {cid}")
    assert "+5491150000001: " in preview.said and "N1, te esperamos en Rosario!" in preview.said

    proposal = await ops.run(OPERATOR, f"/campaign launch {cid}")
    assert "to 2 recipients" in proposal.prompts[0].text and "Pace:" in proposal.prompts[0].text
    assert ops.numbers.sent == [], "nothing goes out before the confirmation"
    refused = RecordingReply()
    await ops.dispatcher.confirm(
        proposal.prompts[0].token, actor=OWNER, platform="telegram", reply=refused
    )
    assert ops.numbers.sent == []
    launched = await ops.confirm(OPERATOR, proposal)
    assert "is running" in launched.said
    status = await ops.run(VIEWER, f"/campaign status {cid}")
    await ops.engine.run_until_idle()
    assert len(ops.numbers.sent) == 2
    progress = status.progress_messages[0]
    assert "2/2" in progress.updates[-1], progress.updates

    report = await ops.run(VIEWER, f"/campaign report {cid}")
    [(name, data, caption)] = report.files
    assert name == f"campaign-{cid}.csv" and "sent: 2" in caption
    assert [row["state"] for row in csv.DictReader(io.StringIO(data.decode()))] == ["sent", "sent"]


async def test_campaign_scope_and_bad_input(ops: Ops) -> None:
    await _prospects(ops.db, "5491150000001")
    cid = _campaign_id(await ops.run(OPERATOR, "/campaign new haby main feria Hola"))
    denied = await ops.run(OTHER, f"/campaign pause {cid}")
    assert "client you cannot see" in denied.said
    assert "marketing" not in (await ops.run(OPERATOR, "/campaigns")).said
    broken = await ops.run(OPERATOR, "/campaign new haby main feria Hola {name")
    assert "Could not do it" in broken.said
    assert "is not a campaign id" in (await ops.run(OPERATOR, "/campaign status x")).said
    viewer = await ops.run(VIEWER, f"/campaign launch {cid}")
    assert viewer.prompts == [] and "operator" in viewer.said


async def test_conversations_reply_and_ai(ops: Ops) -> None:
    haby = await Directory(ops.db).clients.get("haby")
    session = await SessionRepo(ops.db).get("haby", "main")
    contact = await ContactRepo(ops.db).ensure(haby.id, "5491155550000", name="Ana")
    await MessageRepo(ops.db).add(
        NewMessage(
            haby.id,
            contact.id,
            Direction.IN,
            Origin.CONTACT,
            "hola, precio?",
            START,
            session_id=session.id,
            wa_message_id="A1",
            status=MessageStatus.RECEIVED,
        )
    )
    chats = await ops.run(VIEWER, "/chats haby unanswered")
    assert "Ana +5491155550000" in chats.said and "hola, precio?" in chats.said
    conv = await ops.run(VIEWER, "/conv haby 011-15-5555-0000")
    assert "← [contact] hola, precio?" in conv.said
    await ops.run(OPERATOR, "/reply haby +5491155550000 Hola Ana, son 500 mil.\nSaludos")
    assert ops.sender.texts == ["Hola Ana, son 500 mil.\nSaludos"]
    assert (await ContactRepo(ops.db).get(haby.id, "5491155550000")).ai_paused_until is not None
    await ops.run(OPERATOR, "/release haby 5491155550000")
    assert (await ContactRepo(ops.db).get(haby.id, "5491155550000")).ai_paused_until is None

    await ops.run(OPERATOR, "/ai haby prompt Sos el asistente de Haby Hogar.")
    await ops.run(OPERATOR, "/ai haby on")
    status = await ops.run(OPERATOR, "/ai haby status")
    assert "AI for haby: on" in status.said and "Sos el asistente de Haby Hogar." in status.said
    assert "access to client 'marketing'" in (await ops.run(OPERATOR, "/ai marketing on")).said

    forget = await ops.run(OPERATOR, "/forget haby 5491155550000")
    assert forget.prompts == [], "forget needs an admin"
    proposal = await ops.run(OWNER, "/forget haby 5491155550000")
    assert "with its 2 messages" in proposal.prompts[0].text
    await ops.confirm(OWNER, proposal)
    assert (
        "no contact with phone +5491155550000"
        in (await ops.run(OWNER, "/conv haby 5491155550000")).said
    )


async def test_prospects_counts_and_import_from_a_file(ops: Ops) -> None:
    data = b"telefono,nombre\n+5491150000001,Ana\nhola,X\n"
    needs_file = await ops.run(OPERATOR, "/import haby feria")
    assert "Attach the CSV file" in needs_file.said
    imported = await ops.run(
        OPERATOR, "/import haby feria", attachment_name="lista.csv", attachment=data
    )
    assert (
        "2 rows: 1 added" in imported.said and "line 3: hola — not a phone number" in imported.said
    )
    counts = await ops.run(VIEWER, "/prospects haby")
    assert "haby: 1 contactos" in counts.said and "feria: 1" in counts.said
    entries = await AuditRepo(ops.db).recent(10)
    assert any(e.command == "import" and e.result is AuditResult.OK for e in entries)


async def test_sessions_listing_and_scoped_pairing(ops: Ops) -> None:
    listing = await ops.run(OPERATOR, "/sessions")
    assert "haby/main — stopped" in listing.said and "marketing" not in listing.said
    denied = await ops.run(OPERATOR, "/pair marketing")
    assert "access to client 'marketing'" in denied.said and denied.images == []


async def test_guided_campaign_creation(ops: Ops) -> None:
    await _prospects(ops.db, "5491150000001", "5491150000002")
    step1 = await ops.run(OPERATOR, "/campaign new")
    assert "step 1 of 4" in step1.said and "(haby)" in step1.said and "marketing" not in step1.said
    step2 = await ops.run(OPERATOR, "/campaign new haby")
    assert "step 2 of 4" in step2.said.lower() and "(main)" in step2.said
    step3 = await ops.run(OPERATOR, "/campaign new haby main")
    assert "all (2), feria (2)" in step3.said and "/campaign new haby main <tag|all>" in step3.said
    step4 = await ops.run(OPERATOR, "/campaign new haby main feria")
    assert "/campaign new haby main feria <text>" in step4.said and "{name}" in step4.said
    done = await ops.run(OPERATOR, "/campaign new haby main feria Hola {name}")
    assert _campaign_id(done) > 0
    assert (
        "access to client 'marketing'" in (await ops.run(OPERATOR, "/campaign new marketing")).said
    )


# Commands that start a browser are covered end to end on the simulator instead.
BROWSER_COMMANDS = {"pair", "restart", "logout"}
WORDS = [
    "",
    "haby",
    "marketing",
    "ghost",
    "main",
    "1",
    "0",
    "-5",
    "#1",
    "feria",
    "all",
    "on",
    "off",
    "status",
    "prompt",
    "context",
    "recent",
    "hot",
    "unanswered",
    "+5491150000001",
    "011 15",
    "nope",
    "field:",
    "field:ciudad=Rosario",
    "{name",
    "{Hola|Buenas}",
    "2026-13-40 25:00",
    "ñandú 🚀",
    "x" * 300,
    "'",
    '"',
    "--code",
    "mute",
    "subscribe",
    "999999999999",
]


async def test_every_command_answers_random_arguments_clearly(ops: Ops) -> None:
    await _prospects(ops.db, "5491150000001")
    await ops.run(OPERATOR, "/campaign new haby main feria Hola {name}")
    rng = random.Random(11)
    names = sorted({c.name for c in ops.dispatcher.registry if c.name not in BROWSER_COMMANDS})
    assert "campaign launch" in names and "reply" in names
    for name in names:
        for _ in range(6):
            args = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 5)))
            for actor in (OWNER, OPERATOR, VIEWER):
                reply = await ops.run(actor, f"/{name} {args}")
                assert reply.texts or reply.prompts or reply.files or reply.progress_messages, (
                    name,
                    args,
                )
                assert "Traceback" not in reply.said
    assert ops.incidents == [], [i.traceback for i in ops.incidents[:1]]


async def test_number_pacing_is_shown_validated_and_saved(ops: Ops) -> None:
    shown = await ops.run(OWNER, "/pacing haby")
    assert "Pace of haby/main" in shown.said and "gap_s = 0-0" in shown.said
    changed = await ops.run(OWNER, "/pacing haby main gap_s=30-90 daily_cap=200")
    assert "gap_s = 30-90" in changed.said and "daily_cap = 200" in changed.said
    bad = await ops.run(OWNER, "/pacing haby gap=3")
    assert "unknown pacing key 'gap'" in bad.said
    assert "not key=value" in (await ops.run(OWNER, "/pacing haby main daily_cap")).said
    back = await ops.run(OWNER, "/pacing haby main gap_s=default")
    assert "gap_s = 0-0" in back.said and "daily_cap = 200" in back.said
    assert "admin" in (await ops.run(OPERATOR, "/pacing haby")).said


async def test_status_views_are_one_per_chat_and_bounded(ops: Ops) -> None:
    """Asking /campaign status again in a chat replaces its live view, and a campaign keeps at
    most MAX_VIEWS_PER_CAMPAIGN of them: views never pile up while a campaign runs."""
    await _prospects(ops.db, "5491150000001")
    session = await SessionRepo(ops.db).get("haby", "main")
    ops.numbers.states[session.id] = SessionState.DISCONNECTED  # holds the send meanwhile
    cid = _campaign_id(await ops.run(OPERATOR, "/campaign new haby main feria Hola"))
    await ops.confirm(OPERATOR, await ops.run(OPERATOR, f"/campaign launch {cid}"))
    first = await ops.run(VIEWER, f"/campaign status {cid}")
    again = await ops.run(VIEWER, f"/campaign status {cid}")
    others = [
        await ops.run(VIEWER, f"/campaign status {cid}", channel=f"chat-{n}")
        for n in range(MAX_VIEWS_PER_CAMPAIGN + 5)
    ]
    ops.numbers.states[session.id] = SessionState.CONNECTED
    ops.engine.poke(session.id)
    await ops.engine.run_until_idle()
    assert len(ops.numbers.sent) == 1

    def finished(reply: RecordingReply) -> bool:
        return any("1/1" in update for update in reply.progress_messages[0].updates)

    assert not finished(first), "replaced by the next status asked in its chat"
    assert not finished(again), "dropped: 25 other chats asked after it"
    assert [finished(o) for o in others] == [False] * 5 + [True] * 20
