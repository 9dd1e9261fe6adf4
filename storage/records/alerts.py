"""Operator alerts, who receives them, and the outbox deliveries that carry them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Notice(StrEnum):
    """Why operators are told about an alert now."""

    NEW = "new"
    ESCALATED = "escalated"
    REPEAT = "repeat"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class NewAlert:
    """An alert to raise. `one_shot` alerts (a hot lead) are stored resolved at once and
    deduplicated within the repeat interval; the others stay firing until resolved."""

    client_id: int | None
    session_id: int | None
    kind: str
    dedupe_key: str
    text: str
    one_shot: bool = False


@dataclass(frozen=True)
class Alert:
    id: int
    client_id: int | None
    client_slug: str | None
    client_timezone: str | None
    session_id: int | None
    session_name: str | None
    kind: str
    dedupe_key: str
    state: AlertState
    text: str
    occurrences: int
    first_at: datetime
    last_at: datetime
    last_notified_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class FireResult:
    alert: Alert
    notice: Notice | None
    deliveries: int


@dataclass(frozen=True)
class AlertRecipient:
    """A chat to tell about an alert, and the language its operator chose (None: not chosen)."""

    chat_ref: str
    language: str | None


class DeliveryStatus(StrEnum):
    """`failed`: the platform refused it; `dead`: given up after too many attempts (a dead
    letter, in the audit log too); `cancelled`: its chat lost the right to it before it went."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


class AttachmentKind(StrEnum):
    IMAGE = "image"
    FILE = "file"


@dataclass(frozen=True)
class Content:
    """What one delivery carries: one platform message. Buttons are (label, command) pairs."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    image: bytes | None = None
    file_name: str | None = None
    file_data: bytes | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int | None
    chat_ref: str
    content: Content
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
