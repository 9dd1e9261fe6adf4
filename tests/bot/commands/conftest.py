"""A dispatcher over a real database with two clients and one operator of each kind."""

from __future__ import annotations

import pytest

from bot.commands.assembly import build_registry
from bot.commands.base import CommandContext
from bot.commands.dispatcher import Dispatcher, Incident
from engine.directory import Directory
from storage.db import Database
from storage.records import Role
from storage.repos import AuditRepo, ClientRepo, OperatorRepo
from tests.bot.commands.test_operations import ops  # noqa: F401  (for test_input_limits)
from tests.bot.commands.world import (
    ADMIN,
    ADMIN_HABY,
    OPERATOR_HABY,
    OWNER,
    VIEWER,
    World,
)
from tests.support.clocks import ManualClock


@pytest.fixture
async def world(db: Database) -> World:
    clients = ClientRepo(db)
    for slug in ("haby", "marketing"):
        await clients.add(slug, slug.title(), "AR", "America/Argentina/Buenos_Aires")
    operators = OperatorRepo(db)
    await operators.add(OWNER, Role.OWNER, display_name="Olga")
    await operators.add(ADMIN, Role.ADMIN, language="en")
    await operators.add(OPERATOR_HABY, Role.OPERATOR, ["haby"])
    await operators.add(VIEWER, Role.VIEWER)
    await operators.add(ADMIN_HABY, Role.ADMIN, ["haby"], language="es")
    clock = ManualClock()
    started: list[CommandContext] = []
    incidents: list[Incident] = []

    async def on_start(ctx: CommandContext) -> None:
        started.append(ctx)

    async def on_unexpected(incident: Incident) -> None:
        incidents.append(incident)

    audit = AuditRepo(db)
    registry = build_registry(Directory(db), audit, on_start=on_start)
    dispatcher = Dispatcher(
        registry,
        operators,
        audit,
        default_language="en",
        clock=clock,
        confirm_ttl_s=300,
        on_unexpected=on_unexpected,
    )
    return World(db, dispatcher, clock, incidents, started)
