"""Who uses waops: the clients it serves and the operators who command it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Final, Literal, TypeAlias


class Role(StrEnum):
    """Operator roles, from most to least powerful."""

    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        """Higher is more powerful; used to compare roles."""
        return {"owner": 4, "admin": 3, "operator": 2, "viewer": 1}[self.value]


@dataclass(frozen=True)
class Client:
    id: int
    slug: str
    name: str
    region: str
    timezone: str
    created_at: datetime


class Scope(Enum):
    """The one client scope that is not a list of clients."""

    ALL_CLIENTS = "all clients"


ALL_CLIENTS: Final = Scope.ALL_CLIENTS
"""Every client, those added later included. Always stated, never read from an empty list."""
ClientScope: TypeAlias = Sequence[str] | Literal[Scope.ALL_CLIENTS]
"""What an operator may see: ALL_CLIENTS or the slugs of at least one client."""


@dataclass(frozen=True)
class Operator:
    """Someone allowed to command waops. `all_clients` is explicit: a scoped operator whose
    clients were all deleted has no `client_slugs` left and sees nothing."""

    id: int
    platform_id: str
    role: Role
    client_slugs: tuple[str, ...]
    all_clients: bool
    language: str | None
    display_name: str | None
    created_at: datetime

    def may_see(self, client_slug: str) -> bool:
        return self.all_clients or client_slug in self.client_slugs

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The clients to filter by, or None for an operator of every client."""
        return None if self.all_clients else self.client_slugs
