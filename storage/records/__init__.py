"""What storage hands out: plain dataclasses and str Enums, never ORM rows.

One module per area; every record is importable from `storage.records` as well.
"""

from storage.records.ai import AICall, AISettings
from storage.records.alerts import (
    Alert,
    AlertRecipient,
    AlertState,
    AttachmentKind,
    Content,
    Delivery,
    DeliveryStatus,
    FireResult,
    NewAlert,
    Notice,
)
from storage.records.audit import AuditEntry, AuditResult
from storage.records.campaigns import (
    AudienceSize,
    Campaign,
    CampaignActivity,
    CampaignStatus,
    Recipient,
    RecipientState,
    SkipReason,
)
from storage.records.messages import (
    Contact,
    ContactInput,
    ContactName,
    ConversationSummary,
    Direction,
    Message,
    MessageStatus,
    NewMessage,
    Origin,
    UpsertCounts,
    WaIdentity,
    contact_label,
    key_id_of,
)
from storage.records.people import ALL_CLIENTS, Client, ClientScope, Operator, Role, Scope
from storage.records.sessions import SessionState, WaSession

__all__ = [
    "ALL_CLIENTS",
    "AICall",
    "AISettings",
    "Alert",
    "AlertRecipient",
    "AlertState",
    "AttachmentKind",
    "AudienceSize",
    "AuditEntry",
    "AuditResult",
    "Campaign",
    "CampaignActivity",
    "CampaignStatus",
    "Client",
    "ClientScope",
    "Contact",
    "ContactInput",
    "ContactName",
    "Content",
    "ConversationSummary",
    "Delivery",
    "DeliveryStatus",
    "Direction",
    "FireResult",
    "Message",
    "MessageStatus",
    "NewAlert",
    "NewMessage",
    "Notice",
    "Operator",
    "Origin",
    "Recipient",
    "RecipientState",
    "Role",
    "Scope",
    "SessionState",
    "SkipReason",
    "UpsertCounts",
    "WaIdentity",
    "WaSession",
    "contact_label",
    "key_id_of",
]
