"""Receipts that arrive while the database is away are held and applied once it answers."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from engine.events import EventBus, ReceiptUpdated, SessionRef
from engine.inbound.receipts import ReceiptTracker
from storage.db import Database, StorageUnavailable
from storage.records import MessageStatus, RecipientState

REF = SessionRef(1, 1, "haby", "main")


class Messages:
    def __init__(self) -> None:
        self.down = False
        self.applied: list[tuple[str, MessageStatus]] = []

    async def advance_status(self, session_id: int, message_id: str, status: MessageStatus) -> bool:
        if self.down:
            raise StorageUnavailable("database unavailable: gone")
        self.applied.append((message_id, status))
        return True


class Campaigns:
    def __init__(self) -> None:
        self.advanced: list[tuple[str, RecipientState]] = []

    async def advance_by_message(self, message_id: str, state: RecipientState) -> None:
        self.advanced.append((message_id, state))


M = TypeVar("M", bound=Messages)


async def _tracked(db: Database, messages: M) -> tuple[EventBus, M, Campaigns]:
    """A started tracker on a bus of its own, writing to `messages` and a fake of campaigns."""
    bus = EventBus()
    tracker = ReceiptTracker(db, bus)
    await tracker.start()
    campaigns = Campaigns()
    fake: Any = tracker
    fake._messages, fake._campaigns = messages, campaigns
    return bus, messages, campaigns


async def test_a_receipt_during_an_outage_is_applied_when_the_database_answers(
    db: Database,
) -> None:
    bus, messages, campaigns = await _tracked(db, Messages())

    messages.down = True
    await bus.publish(ReceiptUpdated(REF, ("true_a_1", "true_a_2"), 2))
    assert messages.applied == []
    messages.down = False
    await bus.publish(ReceiptUpdated(REF, ("true_b_1",), 3))

    assert messages.applied == [
        ("true_a_1", MessageStatus.DELIVERED),
        ("true_a_2", MessageStatus.DELIVERED),
        ("true_b_1", MessageStatus.READ),
    ]
    assert campaigns.advanced == [
        ("true_a_1", RecipientState.DELIVERED),
        ("true_a_2", RecipientState.DELIVERED),
        ("true_b_1", RecipientState.READ),
    ]


class SlowMessages(Messages):
    """Each write waits for the event loop to run the other session's receipt meanwhile."""

    async def advance_status(self, session_id: int, message_id: str, status: MessageStatus) -> bool:
        await asyncio.sleep(0.01)
        return await super().advance_status(session_id, message_id, status)


async def test_two_sessions_receipts_at_once_are_each_applied_once(db: Database) -> None:
    # Each session's pump publishes its own receipts: two drains of the held ones once ran at
    # once, applied the same receipt twice, skipped another and popped an empty deque.
    bus, messages, campaigns = await _tracked(db, SlowMessages())
    other = SessionRef(2, 1, "haby", "other")

    async with asyncio.timeout(5):
        await asyncio.gather(
            bus.publish(ReceiptUpdated(REF, ("true_a_1", "true_a_2"), 2)),
            bus.publish(ReceiptUpdated(other, ("true_b_1", "true_b_2"), 3)),
        )

    assert sorted(messages.applied) == [
        ("true_a_1", MessageStatus.DELIVERED),
        ("true_a_2", MessageStatus.DELIVERED),
        ("true_b_1", MessageStatus.READ),
        ("true_b_2", MessageStatus.READ),
    ]
    assert len(campaigns.advanced) == 4
