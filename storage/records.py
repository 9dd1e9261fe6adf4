"""What storage hands out: plain dataclasses and str Enums, never ORM rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final, Literal, TypeAlias


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


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Origin(StrEnum):
    """Who wrote a message."""

    CONTACT = "contact"
    AI = "ai"
    OPERATOR = "operator"
    CAMPAIGN = "campaign"
    PHONE = "phone"
    RULE = "rule"


class MessageStatus(StrEnum):
    """Delivery status of a message; receipts only move it forward."""

    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RecipientState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


class AuditResult(StrEnum):
    OK = "ok"
    DENIED = "denied"
    ERROR = "error"
    PROPOSED = "proposed"


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


@dataclass(frozen=True)
class Contact:
    """A person a client talks to: by phone (E.164 digits) and, once WhatsApp tells it, by LID.

    ``phone`` is None for someone WhatsApp has shown only by their LID so far; such a contact
    is merged into the phone's contact as soon as the phone becomes known.
    """

    id: int
    client_id: int
    phone: str | None
    wa_id: str | None
    name: str | None
    tags: tuple[str, ...]
    fields: dict[str, str]
    opted_out_at: datetime | None
    created_at: datetime
    updated_at: datetime
    ai_paused_until: datetime | None = None
    lid: str | None = None

    @property
    def label(self) -> str:
        """How operators see the contact: ``+5491112345678`` or ``lid:123456789012345``."""
        return contact_label(self.phone, self.lid)

    @property
    def chat_id(self) -> str:
        """Where to write to this contact: the phone id WhatsApp confirmed, the LID, or the
        phone as ``@c.us`` (WA-JS ``chat.find`` resolves either form to the same chat)."""
        if self.wa_id:
            return self.wa_id
        if self.phone:
            return f"{self.phone}@c.us"
        assert self.lid is not None, "a contact has a phone or a lid"
        return self.lid


@dataclass(frozen=True)
class WaIdentity:
    """What WhatsApp says about a person: phone digits, the confirmed ``@c.us`` id, the LID."""

    phone: str | None = None
    wa_id: str | None = None
    lid: str | None = None


def contact_label(phone: str | None, lid: str | None) -> str:
    """``+<phone>`` when the phone is known, else ``lid:<digits>``."""
    if phone:
        return f"+{phone}"
    return f"lid:{(lid or '?').split('@', 1)[0]}"


def key_id_of(serialized: str | None) -> str | None:
    """The message's own id in a serialised WhatsApp key ``<fromMe>_<remote>_<id>[_<part>]``."""
    if not serialized:
        return None
    parts = serialized.split("_")
    return parts[2] if len(parts) >= 3 and parts[2] else serialized


@dataclass(frozen=True)
class ContactInput:
    """One contact to create or merge: phone in E.164 digits, no plus sign."""

    phone: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Message:
    id: int
    client_id: int
    session_id: int | None
    contact_id: int
    direction: Direction
    origin: Origin
    wa_message_id: str | None
    body: str
    type: str
    status: MessageStatus
    sent_at: datetime
    campaign_id: int | None
    intent: str | None = None


@dataclass(frozen=True)
class NewMessage:
    """A message to store; `wa_message_id` is unique per session."""

    client_id: int
    contact_id: int
    direction: Direction
    origin: Origin
    body: str
    sent_at: datetime
    session_id: int | None = None
    wa_message_id: str | None = None
    type: str = "chat"
    status: MessageStatus = MessageStatus.RECEIVED
    campaign_id: int | None = None
    intent: str | None = None

    @property
    def wa_key_id(self) -> str | None:
        """The key's own id, the same whatever form (@c.us or @lid) of the chat it names."""
        return key_id_of(self.wa_message_id)


@dataclass(frozen=True)
class ConversationSummary:
    contact_id: int
    phone: str | None
    name: str | None
    last_at: datetime
    last_body: str
    last_direction: Direction
    messages: int
    lid: str | None = None

    @property
    def label(self) -> str:
        """``+<phone>`` or ``lid:<digits>``."""
        return contact_label(self.phone, self.lid)


@dataclass(frozen=True)
class AISettings:
    client_id: int
    enabled: bool
    model: str | None
    system_prompt: str
    business_context: str
    history_window: int
    max_reply_tokens: int
    daily_token_budget: int
    fallback_text: str | None
    pause_s: int
    debounce_s: float
    groups_enabled: bool
    opt_out_keywords: tuple[str, ...]
    rule_replies: str = ""
    opt_out_reply: str | None = None
    handoff_reply: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    platform: str
    command: str
    args: str
    client_slug: str | None
    result: AuditResult
    detail: str | None


@dataclass(frozen=True)
class AICall:
    """One model call as stored: outcome and tokens (failures are kept for operators)."""

    client_id: int
    contact_id: int | None
    at: datetime
    purpose: str
    model: str
    ok: bool
    tokens: int
    error_kind: str | None = None
    detail: str | None = None


class SkipReason(StrEnum):
    OPTED_OUT = "opted_out"
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    INVALID = "invalid"
    OUTSIDE_WINDOW = "outside_window"
    CAP_REACHED = "cap_reached"
    CANCELLED = "cancelled"
    ALREADY_RECEIVED = "already_received"


@dataclass(frozen=True)
class Campaign:
    id: int
    client_id: int
    session_id: int
    name: str
    template: str
    selection: dict[str, Any]
    status: CampaignStatus
    status_reason: str | None
    pacing: dict[str, Any] | None
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class Recipient:
    """A campaign recipient with the contact data needed to render and send."""

    id: int
    campaign_id: int
    contact_id: int
    phone: str
    wa_id: str | None
    name: str | None
    fields: dict[str, str]
    state: RecipientState
    reason: str | None
    body: str | None
    wa_message_id: str | None
    sent_at: datetime | None
    replied_at: datetime | None
    opted_out: bool
