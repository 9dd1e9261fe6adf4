"""Delivery receipts: WhatsApp acks move stored outbound messages forward, never back."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from engine.events import EventBus, Handler, ReceiptUpdated, Subscriber
from engine.whatsapp.types import Ack
from storage.db import Database, StorageUnavailable
from storage.records import MessageStatus, RecipientState
from storage.repos import CampaignRepo, MessageRepo

logger = logging.getLogger(__name__)


def status_for_ack(ack: int) -> MessageStatus | None:
    """The message status an ack level means; None for levels that say nothing new."""
    if ack < 0:
        return MessageStatus.FAILED
    return {
        Ack.SENT: MessageStatus.SENT,
        Ack.RECEIVED: MessageStatus.DELIVERED,
        Ack.READ: MessageStatus.READ,
        Ack.PLAYED: MessageStatus.READ,
    }.get(Ack(ack) if ack <= Ack.PLAYED else Ack.PLAYED)


HELD_MAX = 10_000  # receipts kept while the database is away; the oldest go first

_RECIPIENT_STATE = {
    MessageStatus.DELIVERED: RecipientState.DELIVERED,
    MessageStatus.READ: RecipientState.READ,
}


class ReceiptTracker(Subscriber):
    """Subscribes to `ReceiptUpdated` and applies it to the messages table.

    A receipt that cannot be written (the database is away) is held, and applied before the
    next one: receipts only move a message forward, so applying one late is safe. Every
    session's pump publishes its own receipts, so two can arrive at once: one of them drains
    the held ones at a time (`_draining`), each taken off before it is applied and put back
    if the database is away."""

    def __init__(self, db: Database, bus: EventBus) -> None:
        self._messages = MessageRepo(db)
        super().__init__(bus)
        self._campaigns = CampaignRepo(db)
        self._held: deque[tuple[int, str, MessageStatus]] = deque(maxlen=HELD_MAX)
        self._draining = asyncio.Lock()

    def handlers(self) -> list[tuple[type, Handler]]:
        return [(ReceiptUpdated, self.on_receipt)]

    async def on_receipt(self, event: ReceiptUpdated) -> None:
        status = status_for_ack(event.ack)
        if status is None:
            return
        session_id = event.session.session_id
        self._held.extend((session_id, message_id, status) for message_id in event.message_ids)
        async with self._draining:
            while self._held:
                receipt = self._held.popleft()
                try:
                    await self._apply(*receipt)
                except StorageUnavailable as exc:
                    self._held.appendleft(receipt)
                    held = len(self._held)
                    logger.warning("%d receipt(s) held until the database answers: %s", held, exc)
                    return

    async def _apply(self, session_id: int, message_id: str, status: MessageStatus) -> None:
        moved = await self._messages.advance_status(session_id, message_id, status)
        recipient_state = _RECIPIENT_STATE.get(status)
        if recipient_state is not None:
            await self._campaigns.advance_by_message(message_id, recipient_state)
        logger.debug("receipt %s for %s: %s", status, message_id, "applied" if moved else "ignored")
