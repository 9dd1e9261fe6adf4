"""Configuration, results and events shared by every WhatsApp driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
    # Starting Chromium is bounded on its own: a loaded machine can take many seconds to start
    # a browser, and a short page-call limit (call_timeout_s) must not make that a lost session.
    launch_timeout_s: float = 60.0
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
    """Receipt levels of ``chat.msg_ack_change``.

    WA-JS ``src/chat/events/registerAckMessageEvent.ts`` emits only ack 1 and ack >= 2, and only
    after full ready; ``FAILED`` exists in the enum but is never emitted.
    """

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


class SendResult(StrEnum):
    """``sendMsgResult.messageSendResult`` (WA-JS ``src/whatsapp/enums/SendMsgResult.ts``)."""

    OK = "OK"
    ERROR_NETWORK = "ERROR_NETWORK"
    ERROR_EXPIRED = "ERROR_EXPIRED"
    ERROR_CANCELLED = "ERROR_CANCELLED"
    ERROR_UPLOAD = "ERROR_UPLOAD"
    ERROR_UNKNOWN = "ERROR_UNKNOWN"

    @property
    def maybe_sent(self) -> bool:
        """A network or unknown error may still go out (WhatsApp Web retries on its own)."""
        return self in (SendResult.ERROR_NETWORK, SendResult.ERROR_UNKNOWN)


# Message types that are a conversation (WA-JS ``MsgModel.type``); everything else that
# ``chat.new_message`` fires for (notifications, ``e2e_notification``, ``notification_template``,
# ``call_log``, ``gp2``, ``protocol``, ``revoked``, ``ciphertext``, ...) is dropped.
CONVERSATION_TYPES = frozenset(
    {"chat", "image", "video", "ptt", "audio", "document", "sticker", "location", "vcard"}
)
# For these the model's ``body`` is a base64 thumbnail and the text is ``caption``.
MEDIA_TYPES = frozenset({"image", "video", "ptt", "audio", "document", "sticker"})


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What WhatsApp returned for a message we sent.

    ``id`` is the serialised key (``true_<chat>_<key_id>``) whose chat is the one WA-JS resolved
    (often ``@lid`` although we addressed ``@c.us``); ``key_id`` is its last part, the same
    whatever form of the chat a receipt names.
    """

    id: str
    ack: int
    to: str
    timestamp: float
    key_id: str = ""

    def __post_init__(self) -> None:
        if not self.key_id:
            object.__setattr__(self, "key_id", key_id_of(self.id))


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """``queryWidExists``: ``wid`` is the phone id (Argentine mobiles carry the 9), ``lid``
    the contact's LID when WhatsApp told it."""

    wid: str
    lid: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message serialised in the page; ``from_me`` marks ones typed on the business phone.

    ``body`` is the text a person wrote: the body of a ``chat`` message, the caption of a media
    one (never the base64 thumbnail WA-JS puts in ``body``). ``chat_id`` is the chat as WhatsApp
    names it (``@c.us``, ``@lid`` or ``@g.us``); ``peer_phone`` and ``peer_lid`` are the two ids of
    the 1:1 contact as far as ``WPP.contact.getPnLidEntry`` knows them. ``may_answer`` is false
    for a message caught up from the page's store (``catch_up``) that is no longer worth an
    answer: the engine stores it and honours an opt-out, but sends nothing back.
    """

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
    peer_phone: str | None = None
    peer_lid: str | None = None
    key_id: str = ""
    mimetype: str | None = None
    filename: str | None = None
    size_bytes: int | None = None
    duration_s: int | None = None
    may_answer: bool = True
    # MsgModel.ts ``filehash`` (l.80): WhatsApp's base64 SHA-256 of the plain file, the same for
    # the same file however often it is forwarded; ``isViewOnce`` (l.90).
    filehash: str | None = None
    is_view_once: bool = False

    @property
    def is_media(self) -> bool:
        """An image, video, voice note, audio, document or sticker."""
        return self.type in MEDIA_TYPES


@dataclass(frozen=True, slots=True)
class OutgoingMedia:
    """A file to send with ``send_media``: ``kind`` is the ``type`` option of WA-JS's
    ``sendFileMessage`` (``image``, ``video``, ``document``, ``audio`` or ``sticker``;
    src/chat/functions/sendFileMessage.ts l.97-154) and ``sha256`` the hex SHA-256 of ``data``
    (the page keeps staged files by it)."""

    kind: str
    mimetype: str
    filename: str | None
    data: bytes = field(repr=False)
    sha256: str


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the page's message store holds that other people wrote since a time (``catch_up``).

    ``messages`` are serialised and filtered like live ones, oldest first; ``newest`` holds, per
    chat read, the id of that chat's newest conversation message, whoever wrote it;
    ``complete`` is false when the bounds (chats, messages per chat, time) cut the read short.
    """

    messages: tuple[InboundMessage, ...]
    newest: frozenset[str]
    complete: bool


def key_id_of(serialized: str) -> str:
    """The message's own id in a serialised key ``<fromMe>_<remote>_<id>[_<participant>]``."""
    parts = serialized.split("_")
    return parts[2] if len(parts) >= 3 else serialized


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
class LinkCodeExpired:
    """The managed pairing code ran out of automatic refreshes (``conn.link_code_expired``)."""


@dataclass(frozen=True, slots=True)
class LinkCodeFailed:
    """The managed pairing-code flow failed (``conn.link_code_error``)."""

    message: str


@dataclass(frozen=True, slots=True)
class QrIdle:
    """The QR stopped rotating (``conn.qrcode_idle``); ``refresh_qr`` brings it back."""


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
    | LinkCodeExpired
    | LinkCodeFailed
    | QrIdle
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
