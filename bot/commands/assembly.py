"""The standard command set, assembled from one module per area.

Each area module offers a class built from the services it needs, whose `commands()` lists its
`Command`s; this function is the only place that knows them all. Sessions, campaigns,
prospects, AI and conversations join here as their engine services land, for example
`registry.extend(SessionCommands(manager, directory).commands())`, with their texts in
bot/texts/en.py and es.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.admin import AdminCommands
from bot.commands.campaigns import CampaignCommands
from bot.commands.conversations import ConversationCommands
from bot.commands.identity import IdentityCommands, StartHook
from bot.commands.prospects import ProspectCommands
from bot.commands.registry import CommandRegistry
from bot.commands.sessions import SessionCommands
from engine.campaign.service import CampaignService
from engine.directory import Directory
from engine.events import EventBus
from engine.inbound.conversations import AIControl, Conversations
from engine.sessions import SessionManager
from storage.db import Database
from storage.repos import AuditRepo


@dataclass(frozen=True)
class EngineServices:
    """The engine services the operational commands call."""

    db: Database
    bus: EventBus
    sessions: SessionManager
    campaigns: CampaignService
    conversations: Conversations
    ai: AIControl


def build_registry(
    directory: Directory,
    audit: AuditRepo,
    *,
    on_start: StartHook | None = None,
    engine: EngineServices | None = None,
) -> CommandRegistry:
    """Help, identity and administration commands, and with `engine` the operational ones."""
    registry = CommandRegistry()
    registry.extend(IdentityCommands(registry, directory.operators, on_start=on_start).commands())
    registry.extend(AdminCommands(directory, audit).commands())
    if engine is not None:
        registry.extend(SessionCommands(engine.sessions, engine.bus).commands())
        registry.extend(
            CampaignCommands(engine.campaigns, directory.clients, engine.bus).commands()
        )
        registry.extend(ProspectCommands(engine.db).commands())
        registry.extend(ConversationCommands(engine.conversations, engine.ai).commands())
    return registry
