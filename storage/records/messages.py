"""Contacts and their messages: who a client talks to and what was said."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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


MEDIA_KINDS = frozenset({"ptt", "audio", "image", "video", "document", "sticker"})
"""Message types that carry a file: WA-JS's MsgModel ``type`` values (v4.6.0
src/whatsapp/enums/MSG_TYPE.ts l.43-48); engine/whatsapp/types.py MEDIA_TYPES is the same set."""


class MediaState(StrEnum):
    """How far keeping a message's file got.

    NONE: no file was ever kept (a text message, or media stored before waops downloaded
    media). PENDING: stored, the download has not finished. STORED: the bytes are in the media
    store under `MediaInfo.sha256`. FAILED: every download attempt failed. TOO_LARGE: over
    WAOPS_MEDIA_MAX_BYTES, never downloaded. EXPIRED: kept past the retention and deleted.
    """

    NONE = "none"
    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"
    TOO_LARGE = "too_large"
    EXPIRED = "expired"


@dataclass(frozen=True)
class MediaInfo:
    """A message's file as WhatsApp described it, and where waops keeps its bytes.

    `kind` is the message type (ptt, audio, image, video, document, sticker); the caption is
    the message's `body`. `transcript` is what a voice note or audio said, when transcribed.
    """

    kind: str
    mimetype: str | None = None
    size_bytes: int | None = None
    duration_s: int | None = None
    filename: str | None = None
    sha256: str | None = None
    state: MediaState = MediaState.PENDING
    transcript: str | None = None


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
    media: MediaInfo | None = None
    """None for a text message; `type` is then not one of MEDIA_KINDS."""


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
    media: MediaInfo | None = None
    """The file's facts for a media message; its `kind` is stored as the message type."""

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
class ContactName:
    """How a digest names a contact."""

    id: int
    phone: str | None
    name: str | None
    lid: str | None = None
