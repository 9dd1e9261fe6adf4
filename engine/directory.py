"""Clients, sessions and operators: validated creation and look-ups used by the CLI and chat."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInput
from engine.phones import is_valid_region
from engine.texts import Text, phrase
from storage.db import Database
from storage.records import ALL_CLIENTS, Client, ClientScope, Operator, Role, WaSession
from storage.repos import ClientRepo, OperatorRepo, SessionRepo

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_PLATFORM_ID_RE = re.compile(r"^(tg:-?\d+|slack:[A-Za-z0-9]+|console)$")


def check_slug(value: str, what: Text) -> str:
    if not _SLUG_RE.match(value):
        raise InvalidInput("slug.invalid", what=what, value=value)
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("zone.unknown_for_client", name=value) from exc
    return value


def check_region(value: str) -> str:
    if not is_valid_region(value):
        raise InvalidInput("region.unknown", value=value)
    return value.upper()


def parse_role(value: str) -> Role:
    try:
        return Role(value.lower())
    except ValueError as exc:
        choices = ", ".join(role.value for role in Role)
        raise InvalidInput("role.unknown", value=value, choices=choices) from exc


def check_platform_id(value: str) -> str:
    if not _PLATFORM_ID_RE.match(value):
        raise InvalidInput("platform_id.invalid", value=value)
    return value


class Directory:
    """The registry of clients, their WhatsApp sessions and the operators."""

    def __init__(self, db: Database) -> None:
        self.clients = ClientRepo(db)
        self.sessions = SessionRepo(db)
        self.operators = OperatorRepo(db)

    async def add_client(self, slug: str, name: str, region: str, timezone: str) -> Client:
        return await self.clients.add(
            check_slug(slug, phrase("slug.client")),
            name.strip() or slug,
            check_region(region),
            check_timezone(timezone),
        )

    async def add_session(self, client_slug: str, name: str = "main") -> WaSession:
        client = await self.clients.get(client_slug)
        return await self.sessions.add(client.id, check_slug(name, phrase("slug.session")))

    async def add_operator(
        self,
        platform_id: str,
        role: str,
        client_slugs: ClientScope = ALL_CLIENTS,
        *,
        language: str | None = None,
        display_name: str | None = None,
    ) -> Operator:
        """An operator of ALL_CLIENTS (stated, the default) or of at least one named client."""
        if language is not None and language not in ("es", "en"):
            raise InvalidInput("lang.unknown", value=language)
        return await self.operators.add(
            check_platform_id(platform_id),
            parse_role(role),
            client_slugs
            if client_slugs is ALL_CLIENTS
            else [check_slug(slug, phrase("slug.client")) for slug in client_slugs],
            language=language,
            display_name=display_name,
        )
