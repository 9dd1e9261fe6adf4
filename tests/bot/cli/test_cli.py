"""The `waops` administration commands, run in-process with typer's runner."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.ops.logs import JsonFormatter
from engine.clock import utcnow
from engine.whatsapp.profile_lock import ProfileLock
from storage.db import Database
from storage.records import WorkerInfo
from storage.repos.leases import LeaseRepo
from tests.support.cli import cli_env, waops


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return cli_env(monkeypatch, tmp_path)


def test_commands_refuse_an_unmigrated_database(env: Path) -> None:
    code, output = waops("client", "add", "haby", "--name", "Haby")
    assert code == 1
    assert "run `waops db upgrade`" in output


def test_administration_flow(env: Path) -> None:
    assert waops("db", "upgrade") == (0, "database is up to date\n")
    assert waops("client", "add", "haby", "--name", "Haby")[0] == 0
    code, output = waops("client", "add", "haby", "--name", "Haby")
    assert code == 1 and "exists already" in output
    code, output = waops("client", "add", "x", "--name", "X", "--region", "ZZ")
    assert code == 1 and "unknown region 'ZZ'" in output
    assert waops("session", "add", "haby")[0] == 0
    code, output = waops("session", "add", "ghost")
    assert code == 1 and "no client 'ghost'" in output
    code, output = waops("operator", "add", "tg:123", "--role", "admin", "--client", "haby")
    assert code == 0 and "admin (haby)" in output
    code, output = waops("operator", "add", "bob", "--role", "admin")
    assert code == 1 and "tg:<numeric user id>" in output
    code, output = waops("operator", "add", "tg:9", "--role", "boss")
    assert code == 1 and "choose one of owner, admin, operator, viewer" in output
    code, output = waops("operator", "add", "tg:7", "--role", "viewer")
    assert code == 0 and "viewer (all clients)" in output
    code, output = waops("operator", "add", "tg:8", "--role", "viewer", "--all-clients")
    assert code == 0 and "viewer (all clients)" in output
    code, output = waops(
        "operator", "add", "tg:9", "--role", "viewer", "--all-clients", "--client", "haby"
    )
    assert code == 1 and "--all-clients or --client" in output
    code, output = waops("operator", "list")
    assert code == 0 and "tg:123" in output and "haby" in output
    rows = [line.split("│") for line in output.splitlines() if "tg:7 " in line]
    assert [row[3].strip() for row in rows] == ["all"]
    code, output = waops("ai", "haby", "on")
    assert code == 0 and "on for haby" in output
    code, output = waops("session", "list")
    assert "haby" in output and "stopped" in output


def test_prospect_import_prints_the_report(env: Path) -> None:
    waops("db", "upgrade")
    waops("client", "add", "haby", "--name", "Haby")
    (env / "p.csv").write_text("phone,name\n+5491112345678,Ana\nnope,X\n")
    code, output = waops("prospects", "import", "haby", "p.csv", "--tag", "feria")
    assert code == 0
    assert "2 rows: 1 added, 0 updated, 0 unchanged, 1 rejected" in output
    assert "not a phone number" in output
    code, output = waops("prospects", "import", "haby", "p.csv", "--tag", "feria")
    assert "0 added, 0 updated, 1 unchanged" in output


def test_bad_setting_stops_with_its_name(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAOPS_SEND_WINDOW", "whenever")
    code, output = waops("client", "list")
    assert code == 2
    assert "WAOPS_SEND_WINDOW" in output


def test_version(env: Path) -> None:
    code, output = waops("--version")
    assert code == 0 and output.startswith("waops ")


def test_sessions_stop_start_and_remove(env: Path) -> None:
    waops("db", "upgrade")
    waops("client", "add", "haby", "--name", "Haby")
    waops("session", "add", "haby", "--name", "ventas")
    profile = env / "data" / "sessions" / "haby" / "ventas"
    profile.mkdir(parents=True)
    (profile / "Cookies").write_text("pairing")

    code, output = waops("session", "stop", "haby", "ventas")
    assert code == 0 and "disabled" in output
    code, output = waops("session", "start", "haby", "ventas")
    assert code == 0 and "enabled" in output
    assert waops("session", "stop", "haby", "nope")[0] == 1

    lock = ProfileLock(profile)
    lock.acquire()  # `waops run` has it open
    try:
        code, output = waops("session", "remove", "haby", "ventas", "--yes")
    finally:
        lock.release()
    assert code == 1 and "stop it first" in output
    code, output = waops("session", "remove", "haby", "ventas", "--yes")
    assert code == 0 and "removed" in output
    assert not profile.exists()
    assert "ventas" not in waops("session", "list")[1]


def test_log_level_and_json_format(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAOPS_LOG_LEVEL", "loud")
    code, output = waops("client", "list")
    assert code == 2 and "WAOPS_LOG_LEVEL" in output
    record = logging.LogRecord("bot.x", logging.WARNING, "f.py", 1, "hola %s", ("Ana",), None)
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "bot.x", "hola Ana")


def test_workers_and_the_worker_running_each_session(env: Path) -> None:
    """`waops workers` lists the split deployment's workers with their load; `waops session
    list` names the worker that runs each number. The leases are written as a worker would."""
    assert waops("db", "upgrade")[0] == 0
    assert waops("workers") == (
        0,
        'no workers: start `waops worker` processes (README, "Several machines")\n',
    )
    assert waops("client", "add", "haby", "--name", "Haby")[0] == 0
    assert waops("session", "add", "haby", "--name", "ventas")[0] == 0
    assert waops("session", "add", "haby", "--name", "soporte")[0] == 0

    async def two_workers() -> None:
        async with Database(f"sqlite+aiosqlite:///{env / 'cli.db'}") as db:
            repo, now = LeaseRepo(db), utcnow()
            await repo.heartbeat(WorkerInfo("w-0", 20, "1.2.3", now, now))
            old = now - timedelta(minutes=5)
            await repo.heartbeat(WorkerInfo("w-1", 8, "1.2.2", old, old))
            await repo.claim("w-0", capacity=1, ttl=timedelta(seconds=30), now=now)

    asyncio.run(two_workers())
    code, output = waops("workers")
    assert code == 0
    [w0] = [line for line in output.splitlines() if "w-0" in line]
    assert "│ 1 " in w0 and "20" in w0 and "1.2.3" in w0 and "gone" not in w0
    [w1] = [line for line in output.splitlines() if "w-1" in line]
    assert "│ 0 " in w1 and "300 s ago (gone: its leases expire)" in w1
    code, output = waops("session", "list")
    assert code == 0
    [ventas] = [line for line in output.splitlines() if "ventas" in line]
    [soporte] = [line for line in output.splitlines() if "soporte" in line]
    assert "w-0" in ventas and "w-0" not in soporte


@pytest.mark.parametrize("command", ["worker", "bot"])
def test_the_split_processes_refuse_sqlite_before_starting_anything(
    env: Path, command: str
) -> None:
    code, output = waops(command)
    assert code == 2
    assert "waops worker and waops bot share one database server" in output
    assert "SQLite is for `waops run` alone" in output
