"""ORM tables. They never leave storage/: repositories turn rows into records.

Portable across SQLite and MySQL/MariaDB: string enums are VARCHARs (validated by the str
Enums in records.py), times are stored as naive UTC and handed out as aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import BigId, LongText, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ClientRow(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConfigVersionRow(Base):
    """One row (id 1) whose `version` grows with every write to clients or AI settings, in the
    writer's transaction: the hot paths cache both and reload when it moved (storage/config.py)."""

    __tablename__ = "config_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class OperatorRow(Base):
    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # Explicit, never inferred from having no scope rows (they cascade away with a client).
    # False by default so a row written without it (old code mid-upgrade) sees nothing.
    all_clients: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    language: Mapped[str | None] = mapped_column(String(5))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperatorClientRow(Base):
    """The clients a scoped operator (`all_clients` false) may see; none left means none."""

    __tablename__ = "operator_clients"
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )


class WaSessionRow(Base):
    __tablename__ = "wa_sessions"
    __table_args__ = (UniqueConstraint("client_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default="stopped")
    state_reason: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    wa_id: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    pacing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionLeaseRow(Base):
    """Which worker owns a session (issue 17's split deployment): one row per session, made
    with it. `epoch` grows with every change of owner, so a write fenced by it (the campaign
    claim) fails for a worker that lost the session, however late it wakes up."""

    __tablename__ = "session_leases"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("wa_sessions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    owner: Mapped[str | None] = mapped_column(String(100))
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EngineEventRow(Base):
    """An engine event a worker published, for the operator side in another process (issue
    17): `kind` names the event type, `payload` its JSON (engine/relay.py); followed by id."""

    __tablename__ = "engine_events"
    __table_args__ = (Index(None, "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(LongText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkerRow(Base):
    """A `waops worker` as it last said it was alive: what `/workers` lists and what the lease
    claim's spread rule counts (workers whose heartbeat is recent)."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaderLeaseRow(Base):
    """Which `waops bot` is the active one (issue 17): one row per role (`name`), held by one
    process until `expires_at`; `epoch` grows with every change of holder. `cursor` is the last
    engine event the holder published, so a standby that takes over goes on from there."""

    __tablename__ = "leader_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cursor: Mapped[int | None] = mapped_column(BigInteger)


class DigestRunRow(Base):
    """The end of each client's last scheduled digest: the next one covers the time from
    there, and one that fell due while no bot ran (a restart, a hand-over to the standby) is
    sent when a bot starts (bot/push/digests.py)."""

    __tablename__ = "digest_runs"
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    last_end: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkerCommandRow(Base):
    """Something `waops bot` asks the worker that owns a session to do (issue 17): `kind` and
    its JSON `args`; the owner takes it (`taken_by`, `taken_at`) and answers (`done_at` with
    `result` JSON, or `error` naming the engine error and `detail` its message)."""

    __tablename__ = "worker_commands"
    __table_args__ = (Index(None, "session_id", "taken_at"), Index(None, "created_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("wa_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    args: Mapped[str] = mapped_column(LongText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(LongText)
    error: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)


class ContactRow(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("client_id", "phone"),
        UniqueConstraint("client_id", "lid"),
        Index(None, "client_id", "last_message_at"),
        Index(None, "client_id", "last_direction", "last_message_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    # E.164 digits; NULL for a contact WhatsApp showed only by its LID (merged once known).
    phone: Mapped[str | None] = mapped_column(String(20))
    wa_id: Mapped[str | None] = mapped_column(String(64))
    lid: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ai_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Direction of the newest message: "in" means the chat waits for an answer.
    last_direction: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactTagRow(Base):
    __tablename__ = "contact_tags"
    __table_args__ = (Index(None, "tag", "contact_id"),)
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("session_id", "wa_message_id"),
        # The key's own id, whichever form (@c.us or @lid) of the chat a receipt names.
        UniqueConstraint("session_id", "wa_key_id"),
        Index(None, "contact_id", "sent_at"),
        Index(None, "client_id", "sent_at"),
        Index(None, "client_id", "intent", "contact_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("wa_sessions.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    origin: Mapped[str] = mapped_column(String(10))
    wa_message_id: Mapped[str | None] = mapped_column(String(128))
    wa_key_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(LongText)
    type: Mapped[str] = mapped_column(String(20), default="chat")
    status: Mapped[str] = mapped_column(String(10))
    intent: Mapped[str | None] = mapped_column(String(16))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Media (migration 0007): the kind is `type`, the caption `body`; the bytes live in the
    # media store under `media_sha256`, never in a column. `media_state` is a MediaState.
    mimetype: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    media_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    media_state: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    transcript: Mapped[str | None] = mapped_column(LongText)


class CampaignRow(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index(None, "client_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("wa_sessions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(Text)
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    pacing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The one attachment (migration 0007), sent with the template as its caption.
    media_sha256: Mapped[str | None] = mapped_column(String(64))
    media_kind: Mapped[str | None] = mapped_column(String(10))
    media_mimetype: Mapped[str | None] = mapped_column(String(100))
    media_filename: Mapped[str | None] = mapped_column(String(255))
    media_size: Mapped[int | None] = mapped_column(BigInteger)


class CampaignRecipientRow(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index(None, "campaign_id", "state"),
        Index(None, "wa_message_id"),
        Index(None, "wa_key_id"),
        Index(None, "contact_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    reason: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    wa_message_id: Mapped[str | None] = mapped_column(String(128))
    wa_key_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AISettingsRow(Base):
    __tablename__ = "ai_settings"
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    model: Mapped[str | None] = mapped_column(String(100))
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    business_context: Mapped[str] = mapped_column(Text, default="")
    history_window: Mapped[int] = mapped_column(Integer, default=10)
    max_reply_tokens: Mapped[int] = mapped_column(Integer, default=300)
    daily_token_budget: Mapped[int] = mapped_column(Integer, default=200_000)
    fallback_text: Mapped[str | None] = mapped_column(Text)
    pause_s: Mapped[int] = mapped_column(Integer, default=3600)
    debounce_s: Mapped[float] = mapped_column(Float, default=4.0)
    groups_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_out_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule_replies: Mapped[str | None] = mapped_column(Text)
    opt_out_reply: Mapped[str | None] = mapped_column(Text)
    handoff_reply: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AICallRow(Base):
    """Every model call: its outcome (failures are kept for operators) and the tokens it used."""

    __tablename__ = "ai_calls"
    __table_args__ = (Index(None, "client_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purpose: Mapped[str] = mapped_column(String(10))
    model: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool] = mapped_column(Boolean)
    error_kind: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    tokens: Mapped[int] = mapped_column(Integer, default=0)


class AlertSubscriptionRow(Base):
    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("chat_ref", "client_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    chat_ref: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40), default="*")
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index(None, "dedupe_key", "state"), Index(None, "client_id", "state"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("wa_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="firing")
    text: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertDeliveryRow(Base):
    """Outbox: one message to one operator chat, retried until delivered. It carries at most
    one attachment: `attachment_kind` says whether it is an image or a file."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "status", "chat_ref", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("alerts.id", ondelete="SET NULL")
    )
    chat_ref: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(LongText)
    buttons: Mapped[list[list[str]] | None] = mapped_column(JSON(none_as_null=True))
    attachment_kind: Mapped[str | None] = mapped_column(String(10))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment: Mapped[bytes | None] = mapped_column(
        LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
    )
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"), Index(None, "actor", "at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(20))
    command: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)
    client_slug: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str | None] = mapped_column(Text)
