"""The session commands of `waops bot` (issue 17): run by the worker that owns the number
through engine/remote.py, `/sessions` with each number's owner, `/workers` with their load, and
a clear answer when no worker runs the number."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands.dispatcher import Dispatcher, Incident
from bot.commands.parsing import parse_request
from bot.commands.registry import CommandRegistry
from bot.commands.sessions import SessionCommands
from engine.clock import SystemClock
from engine.events import EventBus
from engine.media_store import MediaStore
from engine.ownership import Fleet
from engine.remote import CommandTaker, RemoteEngine, RemotePolicy
from storage.db import Database
from storage.records import Role, SessionState, WorkerInfo
from storage.repos import AuditRepo, ClientRepo, OperatorRepo, SessionRepo
from storage.repos.leases import LeaseRepo
from tests.bot.commands.recording import RecordingReply
from tests.support.fakes.worker_engine import FakeCampaigns, FakeWorkerEngine

OPERATOR = "tg:2"
FAST = RemotePolicy(take_within_s=1.0, answer_margin_s=1.0, stop_timeout_s=1.0, look_every_s=0.02)
TTL = timedelta(seconds=30)


@dataclass
class Desk:
    dispatcher: Dispatcher
    engine: FakeWorkerEngine
    sessions: dict[str, int]

    async def run(self, text: str) -> RecordingReply:
        reply = RecordingReply()
        request = parse_request(text, actor=OPERATOR, platform="telegram", channel="chat")
        assert request is not None
        await self.dispatcher.dispatch(request, reply)
        return reply


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    repo = SessionRepo(db)
    sessions = {name: (await repo.add(client.id, name)).id for name in ("main", "ventas")}
    await repo.set_state(sessions["main"], SessionState.CONNECTED)
    await OperatorRepo(db).add(OPERATOR, Role.OPERATOR, ["haby"], language="en")
    # Worker w1 runs haby/main; nobody runs haby/ventas.
    leases, now = LeaseRepo(db), datetime.now(UTC)
    await leases.heartbeat(WorkerInfo("w1", 20, "0.9.0", now, now))
    await leases.claim("w1", capacity=1, ttl=TTL, now=now)
    engine, bus = FakeWorkerEngine(), EventBus()
    taker = CommandTaker(
        db,
        "w1",
        lambda: [sessions["main"]],
        engine,
        FakeCampaigns(db),
        EventBus(),
        MediaStore(tmp_path / "media"),
        poll_every_s=0.05,
    )
    fleet = Fleet(db, ttl_s=TTL.total_seconds(), clock=SystemClock())
    commands = SessionCommands(RemoteEngine(db, bus, policy=FAST), bus, fleet)
    await commands.start()
    await taker.start()
    incidents: list[Incident] = []

    async def record(incident: Incident) -> None:
        incidents.append(incident)

    dispatcher = Dispatcher(
        CommandRegistry(commands.commands()),
        OperatorRepo(db),
        AuditRepo(db),
        default_language="en",
        on_unexpected=record,
    )
    yield Desk(dispatcher, engine, sessions)
    await taker.stop()
    await commands.stop()
    assert incidents == [], [i.traceback for i in incidents[:1]]


async def test_sessions_say_which_worker_runs_each_number(desk: Desk) -> None:
    said = (await desk.run("/sessions")).said
    assert "haby/main — connected" in said and "worker w1" in said
    ventas = next(line for line in said.splitlines() if "haby/ventas" in line)
    assert "no worker runs it" in ventas


async def test_workers_lists_load_heartbeat_and_version(desk: Desk) -> None:
    said = (await desk.run("/workers")).said
    assert "waops workers (1):" in said
    assert "w1 — 1/20 numbers — heartbeat" in said and "0.9.0" in said


async def test_pair_and_restart_run_on_the_owning_worker(desk: Desk) -> None:
    pair = await desk.run("/pair haby main")
    assert len(pair.images) == 1, pair.said  # the QR the worker's browser showed
    restart = await desk.run("/restart haby main")
    assert "haby/main is restarting" in restart.said
    assert desk.engine.calls == [("pair", "haby", "main", None), ("restart", "haby", "main")]


async def test_a_number_no_worker_runs_gets_a_clear_answer(desk: Desk) -> None:
    said = (await desk.run("/restart haby ventas")).said
    assert "Nothing was done: no waops worker took the command (restart)" in said, said
    assert "/workers" in said, "it says where to look"
    assert desk.engine.calls == []
