"""The standard command set, assembled from one module per area.

Each area module offers a class built from the services it needs, whose `commands()` lists its
`Command`s; this function is the only place that knows them all. Sessions, campaigns,
prospects, AI and conversations join here as their engine services land, for example
`registry.extend(SessionCommands(manager, directory).commands())`, with their texts in
bot/texts/en.py and es.py.
"""

from __future__ import annotations

from bot.commands.admin import AdminCommands
from bot.commands.identity import IdentityCommands, StartHook
from bot.commands.registry import CommandRegistry
from engine.directory import Directory
from storage.repos import AuditRepo


def build_registry(
    directory: Directory, audit: AuditRepo, *, on_start: StartHook | None = None
) -> CommandRegistry:
    """Help, identity and administration commands in one registry."""
    registry = CommandRegistry()
    registry.extend(IdentityCommands(registry, directory.operators, on_start=on_start).commands())
    registry.extend(AdminCommands(directory, audit).commands())
    return registry
