"""Read-only queries behind conversation digests: one client's activity in a period [start, end)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select

from storage.db import Database
from storage.models import CampaignRecipientRow, CampaignRow, ContactRow, MessageRow
from storage.records import (
    CampaignActivity,
    CampaignStatus,
    ContactName,
    Direction,
    Message,
    RecipientState,
)
from storage.repos.messages import to_message


class DigestRepo:
    """The messages, contacts, opt-outs and campaign counts of a client in a period."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages(self, client_id: int, start: datetime, end: datetime) -> list[Message]:
        """Messages of the period, oldest first."""
        query = (
            select(MessageRow)
            .where(
                MessageRow.client_id == client_id,
                MessageRow.sent_at >= start,
                MessageRow.sent_at < end,
            )
            .order_by(MessageRow.sent_at, MessageRow.id)
        )
        async with self._db.session() as session:
            return [to_message(row) for row in await session.scalars(query)]

    async def wrote_before(self, contact_ids: Sequence[int], start: datetime) -> set[int]:
        """Those of `contact_ids` who had written to the client before `start`."""
        if not contact_ids:
            return set()
        query = select(MessageRow.contact_id).where(
            MessageRow.contact_id.in_(contact_ids),
            MessageRow.direction == Direction.IN.value,
            MessageRow.sent_at < start,
        )
        async with self._db.session() as session:
            return set(await session.scalars(query.distinct()))

    async def contact_names(self, contact_ids: Sequence[int]) -> dict[int, ContactName]:
        if not contact_ids:
            return {}
        query = select(ContactRow.id, ContactRow.phone, ContactRow.name, ContactRow.lid).where(
            ContactRow.id.in_(contact_ids)
        )
        async with self._db.session() as session:
            return {
                cid: ContactName(cid, phone, name, lid)
                for cid, phone, name, lid in await session.execute(query)
            }

    async def opt_outs(self, client_id: int, start: datetime, end: datetime) -> int:
        """Contacts of the client who opted out in the period."""
        query = select(func.count()).where(
            ContactRow.client_id == client_id,
            ContactRow.opted_out_at >= start,
            ContactRow.opted_out_at < end,
        )
        async with self._db.session() as session:
            return int(await session.scalar(query) or 0)

    async def campaign_activity(
        self, client_id: int, start: datetime, end: datetime
    ) -> list[CampaignActivity]:
        """Every campaign of the client that has recipients, by id, with its period counts."""
        recipient = CampaignRecipientRow

        def count_in_period(column: Any, *also: Any) -> Any:
            inside = and_(column >= start, column < end, *also)
            return func.coalesce(func.sum(case((inside, 1), else_=0)), 0)

        query = (
            select(
                CampaignRow.id,
                CampaignRow.name,
                CampaignRow.status,
                count_in_period(recipient.sent_at),
                count_in_period(
                    recipient.updated_at, recipient.state == RecipientState.FAILED.value
                ),
                count_in_period(recipient.replied_at),
            )
            .join(recipient, recipient.campaign_id == CampaignRow.id)
            .where(CampaignRow.client_id == client_id)
            .group_by(CampaignRow.id, CampaignRow.name, CampaignRow.status)
            .order_by(CampaignRow.id)
        )
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
        return [
            CampaignActivity(
                cid, name, CampaignStatus(status), int(sent), int(failed), int(replied)
            )
            for cid, name, status, sent, failed, replied in rows
        ]
