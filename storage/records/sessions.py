"""WhatsApp sessions: one logged-in number of a client and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SessionState(StrEnum):
    """Lifecycle of one WhatsApp session (DESIGN.md, "Session states")."""

    STOPPED = "stopped"
    STARTING = "starting"
    QR_PENDING = "qr_pending"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    LOGGED_OUT = "logged_out"
    CONFLICT = "conflict"  # WhatsApp is open in another window; an operator takes over or not
    BANNED = "banned"
    FAILED = "failed"


@dataclass(frozen=True)
class WaSession:
    id: int
    client_id: int
    client_slug: str
    name: str
    state: SessionState
    state_reason: str | None
    phone: str | None
    enabled: bool
    state_changed_at: datetime
    created_at: datetime

    @property
    def key(self) -> str:
        """`<client>-<session>`, the name the simulator and logs use."""
        return f"{self.client_slug}-{self.name}"
