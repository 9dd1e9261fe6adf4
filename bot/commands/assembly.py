"""The standard command set, assembled from one module per area.

Each area module offers a class built from the services it needs, whose `commands()` lists its
`Command`s; this module is the only place that knows them all. Sessions, campaigns,
prospects, AI and conversations join here as their engine services land, for example
`registry.extend(SessionCommands(manager, directory).commands())`, with their texts in
the area modules of bot/texts/.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.admin import AdminCommands
from bot.commands.base import Command
from bot.commands.campaigns import CampaignCommands
from bot.commands.conversations import ConversationCommands
from bot.commands.identity import IdentityCommands, StartHook
from bot.commands.media import MediaCommands
from bot.commands.prospects import ProspectCommands
from bot.commands.registry import CommandRegistry
from bot.commands.sessions import SessionCommands
from engine.campaign.service import CampaignService
from engine.directory import Directory
from engine.events import EventBus
from engine.inbound.conversations import AIControl, Conversations
from engine.ownership import Fleet
from engine.sessions import SessionControl
from storage.db import Database
from storage.repos import AuditRepo


@dataclass(frozen=True)
class EngineServices:
    """The engine services the operational commands call."""

    db: Database
    bus: EventBus
    sessions: SessionControl
    campaigns: CampaignService
    conversations: Conversations
    ai: AIControl
    fleet: Fleet | None = None  # the workers of a split deployment (`waops bot`)


class EngineCommands:
    """The operational commands over the engine services. Some follow engine events (a QR
    that rotates, campaign progress): `start()` subscribes them, `stop()` lets go."""

    def __init__(self, directory: Directory, engine: EngineServices) -> None:
        self._sessions = SessionCommands(engine.sessions, engine.bus, engine.fleet)
        self._campaigns = CampaignCommands(engine.campaigns, directory.clients, engine.bus)
        self._prospects = ProspectCommands(engine.db)
        self._conversations = ConversationCommands(engine.conversations, engine.ai)
        self._media = MediaCommands(engine.conversations)

    def commands(self) -> list[Command]:
        return [
            *self._sessions.commands(),
            *self._campaigns.commands(),
            *self._prospects.commands(),
            *self._conversations.commands(),
            *self._media.commands(),
        ]

    async def start(self) -> None:
        await self._sessions.start()
        await self._campaigns.start()

    async def stop(self) -> None:
        await self._campaigns.stop()
        await self._sessions.stop()


def build_registry(
    directory: Directory, audit: AuditRepo, *, on_start: StartHook | None = None
) -> CommandRegistry:
    """Help, identity and administration commands; add `EngineCommands` for the rest."""
    registry = CommandRegistry()
    registry.extend(IdentityCommands(registry, directory.operators, on_start=on_start).commands())
    registry.extend(AdminCommands(directory, audit).commands())
    return registry
