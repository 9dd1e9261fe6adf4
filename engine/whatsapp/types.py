"""Configuration, results and events shared by every WhatsApp driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path


@dataclass(frozen=True, slots=True)
class DriverConfig:
    """Everything one driver needs; ``whatsapp_url`` may contain ``{session}``."""

    session_name: str
    chromium_path: Path
    whatsapp_url: str
    wa_js_path: Path
    profile_dir: Path
    device_name: str
    ready_timeout_s: float = 60.0
    call_timeout_s: float = 30.0
    headless: bool = True
    block_heavy_resources: bool = True

    @property
    def url(self) -> str:
        """The page to open, with ``{session}`` replaced by the session name."""
        return self.whatsapp_url.replace("{session}", self.session_name)


class StreamMode(StrEnum):
    """WhatsApp Web stream modes (``WPP.conn.getStreamData().mode``)."""

    QR = "QR"
    MAIN = "MAIN"
    SYNCING = "SYNCING"
    OFFLINE = "OFFLINE"
    CONFLICT = "CONFLICT"
    PROXYBLOCK = "PROXYBLOCK"
    TOS_BLOCK = "TOS_BLOCK"
    SMB_TOS_BLOCK = "SMB_TOS_BLOCK"
    DEPRECATED_VERSION = "DEPRECATED_VERSION"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> StreamMode:
        """The mode named by ``value``, or ``UNKNOWN`` for anything a newer WhatsApp invents."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_banned(self) -> bool:
        """True for the terms-of-service blocks (the number is banned)."""
        return self in (StreamMode.TOS_BLOCK, StreamMode.SMB_TOS_BLOCK)


class Ack(IntEnum):
    """Receipt levels of ``chat.msg_ack_change`` (negative values are errors)."""

    FAILED = -1
    CLOCK = 0
    SENT = 1
    RECEIVED = 2
    READ = 3
    PLAYED = 4


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """Where the session stands; ``logged_in`` means authenticated-or-registered and MAIN."""

    logged_in: bool
    mode: StreamMode
    info: str
    online: bool
    me: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What WhatsApp returned for a message we sent."""

    id: str
    ack: int
    to: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message serialised in the page; ``from_me`` marks ones typed on the business phone."""

    id: str
    chat_id: str
    sender_id: str
    from_me: bool
    body: str
    type: str
    timestamp: int
    notify_name: str | None
    is_group: bool
    quoted_id: str | None


@dataclass(frozen=True, slots=True)
class PageReady:
    """A freshly loaded page has WA-JS ready and our subscriptions armed (every load)."""


@dataclass(frozen=True, slots=True)
class QrCodeChanged:
    """The QR text (``fullCode``) changed; ``None`` once the QR is gone (linked)."""

    code: str | None


@dataclass(frozen=True, slots=True)
class LinkCodeChanged:
    """A new 8-character pairing code for the phone-number flow."""

    code: str


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The phone scanned the QR (or entered the code) and the device is linked."""


@dataclass(frozen=True, slots=True)
class StreamModeChanged:
    """The stream mode or info changed (``MAIN`` is connected)."""

    mode: StreamMode
    info: str


@dataclass(frozen=True, slots=True)
class OnlineChanged:
    """The connection to WhatsApp's servers went down or came back."""

    online: bool


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """The device was unlinked; a new pairing is needed."""

    reason: str | None


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A new message, already filtered and deduplicated in the page."""

    message: InboundMessage


@dataclass(frozen=True, slots=True)
class AckChanged:
    """Receipts moved for these message ids."""

    ids: tuple[str, ...]
    ack: int


@dataclass(frozen=True, slots=True)
class PageCrashed:
    """The renderer of the WhatsApp page crashed."""


@dataclass(frozen=True, slots=True)
class BrowserClosed:
    """The browser process or context went away without ``stop()``."""


DriverEvent = (
    PageReady
    | QrCodeChanged
    | LinkCodeChanged
    | Authenticated
    | StreamModeChanged
    | OnlineChanged
    | LoggedOut
    | MessageReceived
    | AckChanged
    | PageCrashed
    | BrowserClosed
)

EventSink = Callable[[DriverEvent], Awaitable[None]]
