"""Campaign recipients. One row per (campaign, contact), UNIQUE.

The at-most-once protocol lives here as single-row transitions: `queued -> sending` is committed
before the network call, `sending -> sent` after it; `sending` rows left by a crash become
`unknown`, never `queued` again. A send is two commits, `claim` and `record_sent`, or the
`sent` of one send is committed by the next one's `claim` (their statements are in
storage/repos/recipient_sends.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import CampaignRecipientRow, CampaignRow, ContactRow, utcnow
from storage.records import Campaign, Lease, NewMessage, Recipient, RecipientState, key_id_of
from storage.repos.audience import selection_query
from storage.repos.recipient_sends import (
    Claim,
    Sent,
    by_queue_index,
    claim_in,
    recipient_of,
    record_sent_in,
)

# Receipts move a recipient forward along this order, never back.
_FORWARD = {
    RecipientState.SENT: (RecipientState.UNKNOWN,),
    RecipientState.DELIVERED: (RecipientState.SENT, RecipientState.UNKNOWN),
    RecipientState.READ: (RecipientState.SENT, RecipientState.DELIVERED, RecipientState.UNKNOWN),
}


def _queued(campaign_id: int) -> Any:
    """The campaign's queued recipients with their contacts, in id order."""
    return by_queue_index(
        select(CampaignRecipientRow, ContactRow)
        .join(ContactRow, ContactRow.id == CampaignRecipientRow.contact_id)
        .where(
            CampaignRecipientRow.campaign_id == campaign_id,
            CampaignRecipientRow.state == RecipientState.QUEUED.value,
        )
        .order_by(CampaignRecipientRow.id),
        CampaignRecipientRow,
    )


class RecipientRepo:
    """Who a campaign goes to and where each of them stands."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def materialize(
        self, campaign: Campaign, contact_ids: Sequence[int] | None = None
    ) -> int:
        """Create the queued recipient rows (idempotent); returns how many were added."""
        now = utcnow()
        source = selection_query(campaign.client_id, campaign.selection)
        if contact_ids is not None:
            source = source.where(ContactRow.id.in_(contact_ids))
        already = select(CampaignRecipientRow.contact_id).where(
            CampaignRecipientRow.campaign_id == campaign.id
        )
        rows = source.where(ContactRow.id.not_in(already)).with_only_columns(
            literal(campaign.id), ContactRow.id, literal(RecipientState.QUEUED.value), literal(now)
        )
        async with self._db.session() as session:
            result = await session.execute(
                insert(CampaignRecipientRow).from_select(
                    ["campaign_id", "contact_id", "state", "updated_at"], rows
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def next_queued(self, campaign_id: int) -> Recipient | None:
        async with self._db.session() as session:
            found = (await session.execute(_queued(campaign_id).limit(1))).first()
            return None if found is None else recipient_of(found[0], found[1])

    async def claim(
        self,
        campaign_id: int,
        recipient_id: int,
        render: Callable[[Recipient], str],
        *,
        wa_id: str | None = None,
        lid: str | None = None,
        fence: Lease | None = None,
        sent: Sent | None = None,
    ) -> Claim:
        """The first commit of a send (storage/repos/recipient_sends.py `claim_in`), with the
        `sent` of the send before when given; with a `fence`, only while that session lease
        is held (`LeaseLost` otherwise, and nothing is committed, `sent` neither)."""
        # A deadlock with an inbound message's reply link (it locks contact, then recipients)
        # rolls the claim back whole, nothing sent: it runs again at once.
        return await self._db.run(
            partial(
                claim_in,
                campaign_id=campaign_id,
                recipient_id=recipient_id,
                render=render,
                wa_id=wa_id,
                lid=lid,
                fence=fence,
                sent=sent,
            )
        )

    async def _move(
        self,
        recipient_id: int,
        to: RecipientState,
        allowed_from: Sequence[RecipientState],
        **values: Any,
    ) -> bool:
        async with self._db.session() as session:
            result = await session.execute(
                update(CampaignRecipientRow)
                .where(
                    CampaignRecipientRow.id == recipient_id,
                    CampaignRecipientRow.state.in_([s.value for s in allowed_from]),
                )
                .values(state=to.value, updated_at=utcnow(), **values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_sending(self, recipient_id: int, body: str) -> bool:
        """Commit `sending` before the network call; False when the row is not queued."""
        return await self._move(
            recipient_id,
            RecipientState.SENDING,
            [RecipientState.QUEUED],
            body=body,
            sending_at=utcnow(),
        )

    async def record_sent(self, recipient_id: int, message: NewMessage) -> bool:
        """`sending -> sent` and the campaign message stored (with the contact's last message),
        in one transaction: the second commit of a send."""
        async with self._db.session() as session:
            return await record_sent_in(await session.connection(), recipient_id, message)

    async def mark_failed(self, recipient_id: int, error: str) -> bool:
        return await self._move(
            recipient_id, RecipientState.FAILED, [RecipientState.SENDING], error=error
        )

    async def mark_unknown(self, recipient_id: int, error: str) -> bool:
        return await self._move(
            recipient_id, RecipientState.UNKNOWN, [RecipientState.SENDING], error=error
        )

    async def requeue(self, recipient_id: int, error: str) -> bool:
        """Back to queued: only when the message certainly did not leave."""
        return await self._move(
            recipient_id, RecipientState.QUEUED, [RecipientState.SENDING], error=error
        )

    async def skip(self, recipient_id: int, reason: str) -> bool:
        return await self._move(
            recipient_id,
            RecipientState.SKIPPED,
            [RecipientState.QUEUED, RecipientState.SENDING],
            reason=reason,
        )

    async def skip_all_queued(self, campaign_id: int, reason: str) -> int:
        async with self._db.session() as session:
            result = await session.execute(
                update(CampaignRecipientRow)
                .where(
                    CampaignRecipientRow.campaign_id == campaign_id,
                    CampaignRecipientRow.state == "queued",
                )
                .values(state=RecipientState.SKIPPED.value, reason=reason, updated_at=utcnow())
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def stale_sending_to_unknown(self, session_id: int | None = None) -> dict[int, int]:
        """After a crash: every `sending` row (of one number's campaigns, or of all) becomes
        `unknown`. Returns counts per campaign."""
        query = select(CampaignRecipientRow.id, CampaignRecipientRow.campaign_id).where(
            CampaignRecipientRow.state == RecipientState.SENDING.value
        )
        if session_id is not None:
            query = query.where(
                CampaignRecipientRow.campaign_id.in_(
                    select(CampaignRow.id).where(CampaignRow.session_id == session_id)
                )
            )
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
            if rows:
                await session.execute(
                    update(CampaignRecipientRow)
                    .where(CampaignRecipientRow.id.in_([r[0] for r in rows]))
                    .values(
                        state=RecipientState.UNKNOWN.value,
                        updated_at=utcnow(),
                        error="interrupted during the send: it may or may not have been delivered",
                    )
                )
            return dict(Counter(campaign_id for _id, campaign_id in rows))

    async def advance_by_message(self, wa_message_id: str, to: RecipientState) -> bool:
        """A receipt for a campaign message: move forward only. Matched by the key's own id,
        since WhatsApp may name the chat by its @lid in the receipt."""
        allowed = _FORWARD.get(to)
        if allowed is None:
            return False
        async with self._db.session() as session:
            result = await session.execute(
                update(CampaignRecipientRow)
                .where(
                    CampaignRecipientRow.wa_key_id == key_id_of(wa_message_id),
                    CampaignRecipientRow.state.in_([s.value for s in allowed]),
                )
                .values(state=to.value, updated_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def link_reply(self, contact_id: int, at: datetime) -> int:
        """Mark the contact's latest received campaign message as replied to."""
        async with self._db.session() as session:
            return await link_reply_in(session, contact_id, at)

    async def counts(self, campaign_id: int) -> dict[str, int]:
        """Recipients per state, plus `skipped:<reason>` and `replied` entries."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(CampaignRecipientRow.state, CampaignRecipientRow.reason, func.count())
                    .where(CampaignRecipientRow.campaign_id == campaign_id)
                    .group_by(CampaignRecipientRow.state, CampaignRecipientRow.reason)
                )
            ).all()
            replied = await session.scalar(
                select(func.count())
                .select_from(CampaignRecipientRow)
                .where(
                    CampaignRecipientRow.campaign_id == campaign_id,
                    CampaignRecipientRow.replied_at.is_not(None),
                )
            )
        counts: Counter[str] = Counter()
        for state, reason, n in rows:
            counts[state] += n
            if state == RecipientState.SKIPPED.value and reason:
                counts[f"skipped:{reason}"] += n
        counts["replied"] = int(replied or 0)
        return dict(counts)

    async def recipients(self, campaign_id: int, *, batch: int = 1000) -> AsyncIterator[Recipient]:
        """Every recipient in id order, read in batches (for the CSV report)."""
        last_id = 0
        while True:
            query = (
                select(CampaignRecipientRow, ContactRow)
                .join(ContactRow, ContactRow.id == CampaignRecipientRow.contact_id)
                .where(
                    CampaignRecipientRow.campaign_id == campaign_id,
                    CampaignRecipientRow.id > last_id,
                )
                .order_by(CampaignRecipientRow.id)
                .limit(batch)
            )
            async with self._db.session() as session:
                rows = (await session.execute(query)).all()
            if not rows:
                return
            for recipient, contact in rows:
                yield recipient_of(recipient, contact)
            last_id = rows[-1][0].id

    async def sends_since(self, session_id: int, since: datetime) -> list[datetime]:
        """When this number sent campaign messages since `since` (to seed its pacer)."""
        query = (
            select(CampaignRecipientRow.sent_at)
            .join(CampaignRow, CampaignRow.id == CampaignRecipientRow.campaign_id)
            .where(
                CampaignRow.session_id == session_id,
                CampaignRecipientRow.sent_at.is_not(None),
                CampaignRecipientRow.sent_at >= since,
            )
            .order_by(CampaignRecipientRow.sent_at)
        )
        async with self._db.session() as session:
            return [at for at in await session.scalars(query) if at is not None]


_RECIPIENTS = cast(Table, CampaignRecipientRow.__table__)
# `link_reply_in` for one (contact, time) of many, run as one executemany.
_LINK_REPLY = (
    update(_RECIPIENTS)
    .where(
        _RECIPIENTS.c.contact_id == bindparam("b_contact"),
        _RECIPIENTS.c.replied_at.is_(None),
        _RECIPIENTS.c.sent_at.is_not(None),
        _RECIPIENTS.c.sent_at <= bindparam("b_at"),
    )
    .values(replied_at=bindparam("b_at"))
)


async def link_replies_in(session: AsyncSession, replies: Sequence[tuple[int, datetime]]) -> None:
    """`link_reply_in` for each (contact, time) of `replies`, in one executemany."""
    if replies:
        await session.execute(
            _LINK_REPLY, [{"b_contact": contact, "b_at": at} for contact, at in replies]
        )


async def link_reply_in(session: AsyncSession, contact_id: int, at: datetime) -> int:
    """`RecipientRepo.link_reply` in the caller's transaction; how many campaign messages it
    marked."""
    result = await session.execute(_LINK_REPLY, {"b_contact": contact_id, "b_at": at})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
