"""Delivery receipts: WhatsApp acks move stored outbound messages forward, never back."""

from __future__ import annotations

import logging

from engine.events import EventBus, ReceiptUpdated
from engine.whatsapp.types import Ack
from storage.db import Database
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


_RECIPIENT_STATE = {
    MessageStatus.DELIVERED: RecipientState.DELIVERED,
    MessageStatus.READ: RecipientState.READ,
}


class ReceiptTracker:
    """Subscribes to `ReceiptUpdated` and applies it to the messages table."""

    def __init__(self, db: Database, bus: EventBus) -> None:
        self._messages = MessageRepo(db)
        self._campaigns = CampaignRepo(db)
        bus.subscribe(ReceiptUpdated, self.on_receipt)

    async def on_receipt(self, event: ReceiptUpdated) -> None:
        status = status_for_ack(event.ack)
        if status is None:
            return
        recipient_state = _RECIPIENT_STATE.get(status)
        for message_id in event.message_ids:
            moved = await self._messages.advance_status(
                event.session.session_id, message_id, status
            )
            if recipient_state is not None:
                await self._campaigns.advance_by_message(message_id, recipient_state)
            logger.debug(
                "receipt %s for %s: %s", status, message_id, "applied" if moved else "ignored"
            )
