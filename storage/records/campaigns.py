"""Campaigns, who they go to and what they did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


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


class SkipReason(StrEnum):
    OPTED_OUT = "opted_out"
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    INVALID = "invalid"
    OUTSIDE_WINDOW = "outside_window"
    CAP_REACHED = "cap_reached"
    CANCELLED = "cancelled"
    ALREADY_RECEIVED = "already_received"


@dataclass(frozen=True)
class CampaignMedia:
    """A campaign's one attachment: its bytes are in the media store under `sha256`."""

    sha256: str
    kind: str
    mimetype: str
    filename: str | None
    size: int


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
    media: CampaignMedia | None = None
    """The image, video or document sent with the rendered template as its caption."""


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


@dataclass(frozen=True)
class AudienceSize:
    """How many contacts a campaign selection means, and how many of them opted out."""

    contacts: int
    opted_out: int


@dataclass(frozen=True)
class CampaignActivity:
    """What a campaign did in the period: messages sent, failed and replied to."""

    campaign_id: int
    name: str
    status: CampaignStatus
    sent: int
    failed: int
    replied: int
