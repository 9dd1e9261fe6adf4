"""Typed in-process events the engine publishes and the operator side subscribes to."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from engine.whatsapp.types import InboundMessage
from storage.records import Campaign, CampaignStatus, Message, Origin, SessionState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionRef:
    """Which session an event is about."""

    session_id: int
    client_id: int
    client_slug: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.client_slug}-{self.name}"

    def __str__(self) -> str:
        return f"{self.client_slug}/{self.name}"


@dataclass(frozen=True)
class SessionStateChanged:
    session: SessionRef
    old: SessionState
    new: SessionState
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class QrUpdated:
    """A QR to show (rotated `attempt` times); `code` is the text to encode."""

    session: SessionRef
    code: str
    attempt: int
    max_attempts: int


@dataclass(frozen=True)
class QrExpired:
    """Nobody scanned within the allowed rotations; the session waits for a new `pair`."""

    session: SessionRef


@dataclass(frozen=True)
class PairingCodeIssued:
    """A pairing code to type on the phone; `attempt` counts the codes of this request (WA-JS
    renews a code on its own when it runs out), 1 being the one given with the `/pair` answer."""

    session: SessionRef
    phone: str
    code: str
    attempt: int = 1


@dataclass(frozen=True)
class PairingCodeExpired:
    """The managed pairing code ran out of renewals unused; the QR is still there."""

    session: SessionRef
    phone: str


@dataclass(frozen=True)
class PairingCodeFailed:
    """WhatsApp refused or broke the pairing-code flow (`conn.link_code_error`)."""

    session: SessionRef
    phone: str
    detail: str


@dataclass(frozen=True)
class InboundReceived:
    """A message reached a session (from a contact, or typed on the business phone)."""

    session: SessionRef
    message: InboundMessage


@dataclass(frozen=True)
class ReceiptUpdated:
    session: SessionRef
    message_ids: tuple[str, ...]
    ack: int


@dataclass(frozen=True)
class InboundSpoolFailed:
    """The inbound spool could not be written (a full disk?): messages go on from memory, so
    a crash now would lose them. Raised once per failing streak."""

    path: str
    detail: str


@dataclass(frozen=True)
class ContactForgotten:
    """An operator deleted a contact and its messages; copies elsewhere must go too."""

    client_id: int
    contact_id: int


@dataclass(frozen=True)
class ContactOptedOut:
    """``phone`` (E.164 digits) is None for a contact WhatsApp showed only by its ``lid``."""

    session: SessionRef
    contact_id: int
    phone: str | None
    lid: str | None = None


@dataclass(frozen=True)
class ContactSignal:
    """A contact's message that operators should hear of; each subclass is one meaning (the
    bus delivers by exact type). ``phone`` is None for a contact known only by its ``lid``."""

    session: SessionRef
    contact_id: int
    phone: str | None
    text: str
    lid: str | None = None


@dataclass(frozen=True)
class HandoffRequested(ContactSignal):
    """A contact asked for a person; AI is paused in that chat."""


@dataclass(frozen=True)
class HotLeadDetected(ContactSignal):
    """A contact wants to buy or asked a price (the `hot_lead` intent)."""


@dataclass(frozen=True)
class AIFailed:
    """The model failed, refused or was caught by the guard; the contact saw no error."""

    session: SessionRef
    contact_id: int
    phone: str | None
    kind: str
    detail: str | None
    fallback_sent: bool
    lid: str | None = None


@dataclass(frozen=True)
class ChatPaused:
    """AI is silent in a chat until `until` (None: released)."""

    session: SessionRef | None
    client_id: int
    contact_id: int
    until: datetime | None
    reason: str


@dataclass(frozen=True)
class MessageStored:
    """An inbound message (or one typed on the business phone) was stored for the first time."""

    session: SessionRef
    message: Message


@dataclass(frozen=True)
class MessageSent:
    """A message left (or failed to leave) a session: AI, rule, operator or campaign."""

    client_id: int
    session_id: int
    origin: Origin
    ok: bool


@dataclass(frozen=True)
class CampaignProgress:
    """After each send or skip: counts per state (and `skipped:<reason>`), what is left, and
    when the last message is expected to go (None when unknown)."""

    campaign: Campaign
    counts: dict[str, int]
    remaining: int
    expected_finish: datetime | None


@dataclass(frozen=True)
class CampaignStatusChanged:
    campaign: Campaign
    old: CampaignStatus
    reason: str | None


@dataclass(frozen=True)
class CampaignRecovered:
    """At start-up: sends interrupted by a crash are `unknown` and need an operator's look."""

    campaign: Campaign
    unknown: int


@dataclass(frozen=True)
class NumberWorkerFailed:
    """A number's campaign sender stopped on an error and is restarted after `retry_in_s`;
    repeated failures mean its campaigns are stalled (the database is away, or a bug)."""

    session_id: int
    client_id: int | None
    detail: str
    failures: int
    retry_in_s: float


@dataclass(frozen=True)
class WorkerLost:
    """A split deployment (issue 17): worker `taken_by` took over numbers whose lease `lost`
    held and let expire without giving it up (it died, or stalled past its lease)."""

    lost: str
    taken_by: str
    sessions: tuple[str, ...]  # client/name of each number taken over in this round


Event = (
    SessionStateChanged
    | QrUpdated
    | QrExpired
    | PairingCodeIssued
    | PairingCodeExpired
    | PairingCodeFailed
    | InboundReceived
    | ReceiptUpdated
    | InboundSpoolFailed
    | ContactForgotten
    | ContactOptedOut
    | HandoffRequested
    | HotLeadDetected
    | AIFailed
    | ChatPaused
    | MessageStored
    | MessageSent
    | CampaignProgress
    | CampaignStatusChanged
    | CampaignRecovered
    | NumberWorkerFailed
    | WorkerLost
)
E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    """Delivers each event to the handlers subscribed to its type, in subscription order.

    A failing handler is logged and does not stop the others: one broken subscriber must not
    cost another its events.
    """

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].remove(handler)

    def subscribe_all(self, handlers: Iterable[tuple[type, Handler]]) -> None:
        """Subscribe a part's whole table of (event type, handler) at once."""
        for event_type, handler in handlers:
            self.subscribe(event_type, handler)

    def unsubscribe_all(self, handlers: Iterable[tuple[type, Handler]]) -> None:
        """Undo `subscribe_all` with the same table."""
        for event_type, handler in handlers:
            self.unsubscribe(event_type, handler)

    async def publish(self, event: object) -> None:
        for handler in list(self._handlers.get(type(event), ())):
            try:
                await handler(event)
            except Exception:
                logger.exception("handler %r failed on %s", handler, type(event).__name__)


class Subscriber:
    """A long-lived part that hears the bus from `start()` to `stop()`.

    Its table of (event type, handler) comes from `handlers()`; bound methods compare equal, so
    the table built again at `stop()` unsubscribes what `start()` subscribed.
    """

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    def handlers(self) -> list[tuple[type, Handler]]:
        raise NotImplementedError

    async def start(self) -> None:
        self._bus.subscribe_all(self.handlers())

    async def stop(self) -> None:
        self._bus.unsubscribe_all(self.handlers())
