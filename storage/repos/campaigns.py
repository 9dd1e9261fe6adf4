"""Campaigns: their definition and status. Recipients are in storage/repos/recipients.py;
`CampaignRepo` offers both, as callers mostly need both."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, NotFound
from storage.models import CampaignRow, WaSessionRow, utcnow
from storage.records import Campaign, CampaignMedia, CampaignStatus
from storage.repos.recipients import RecipientRepo
from storage.texts import phrase


def _media_of(row: CampaignRow) -> CampaignMedia | None:
    if row.media_sha256 is None or row.media_kind is None:
        return None
    return CampaignMedia(
        sha256=row.media_sha256,
        kind=row.media_kind,
        mimetype=row.media_mimetype or "application/octet-stream",
        filename=row.media_filename,
        size=int(row.media_size or 0),
    )


def _to_campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        id=row.id,
        client_id=row.client_id,
        session_id=row.session_id,
        name=row.name,
        template=row.template,
        selection=dict(row.selection or {}),
        status=CampaignStatus(row.status),
        status_reason=row.status_reason,
        pacing=row.pacing,
        scheduled_at=row.scheduled_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
        created_at=row.created_at,
        media=_media_of(row),
    )


async def _locked(
    session: AsyncSession, campaign_id: int, expect: Sequence[CampaignStatus] | None
) -> CampaignRow:
    """The campaign's row, locked; NotFound when missing or (with `expect`) in another state."""
    row = await session.get(CampaignRow, campaign_id, with_for_update=True)
    if row is None:
        raise NotFound(phrase("record.no_campaign", id=campaign_id))
    if expect is not None and CampaignStatus(row.status) not in expect:
        expected = "/".join(s.value for s in expect)
        raise NotFound(
            phrase("record.campaign_not_in", id=campaign_id, status=row.status, expected=expected)
        )
    return row


class CampaignRepo:
    """Campaigns, and their recipients: the operations of the `RecipientRepo` it holds are
    offered here too, so a caller needs one repository for both."""

    def __init__(self, db: Database) -> None:
        self._db = db
        recipients = RecipientRepo(db)
        self.materialize = recipients.materialize
        self.next_queued = recipients.next_queued
        self.claim = recipients.claim
        self.mark_sending = recipients.mark_sending
        self.record_sent = recipients.record_sent
        self.mark_failed = recipients.mark_failed
        self.mark_unknown = recipients.mark_unknown
        self.requeue = recipients.requeue
        self.skip = recipients.skip
        self.skip_all_queued = recipients.skip_all_queued
        self.stale_sending_to_unknown = recipients.stale_sending_to_unknown
        self.advance_by_message = recipients.advance_by_message
        self.link_reply = recipients.link_reply
        self.counts = recipients.counts
        self.recipients = recipients.recipients
        self.sends_since = recipients.sends_since

    async def create(
        self,
        client_id: int,
        session_id: int,
        name: str,
        template: str,
        selection: dict[str, Any],
        *,
        pacing: dict[str, Any] | None = None,
        created_by: str | None = None,
    ) -> Campaign:
        row = CampaignRow(
            client_id=client_id,
            session_id=session_id,
            name=name,
            template=template,
            selection=selection,
            pacing=pacing,
            created_by=created_by,
            status=CampaignStatus.DRAFT.value,
        )
        async with self._db.session() as session:
            session.add(row)
            await session.flush()
            return _to_campaign(row)

    async def get(self, campaign_id: int) -> Campaign:
        async with self._db.session() as session:
            row = await session.get(CampaignRow, campaign_id)
            if row is None:
                raise NotFound(phrase("record.no_campaign", id=campaign_id))
            return _to_campaign(row)

    async def list(
        self,
        *,
        client_id: int | None = None,
        session_id: int | None = None,
        statuses: Sequence[CampaignStatus] | None = None,
    ) -> list[Campaign]:
        query = select(CampaignRow).order_by(CampaignRow.id)
        if client_id is not None:
            query = query.where(CampaignRow.client_id == client_id)
        if session_id is not None:
            query = query.where(CampaignRow.session_id == session_id)
        if statuses is not None:
            query = query.where(CampaignRow.status.in_([s.value for s in statuses]))
        async with self._db.session() as session:
            return [_to_campaign(row) for row in await session.scalars(query)]

    async def set_status(
        self,
        campaign_id: int,
        status: CampaignStatus,
        reason: str | None = None,
        *,
        expect: Sequence[CampaignStatus] | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign:
        """Move a campaign to `status`; with `expect`, only from one of those (else NotFound)."""
        now = utcnow()
        async with self._db.session() as session:
            row = await _locked(session, campaign_id, expect)
            row.status, row.status_reason = status.value, reason
            if status is CampaignStatus.SCHEDULED:
                row.scheduled_at = scheduled_at
            if status is CampaignStatus.RUNNING and row.started_at is None:
                row.started_at = now
            if status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
                row.finished_at = now
            return _to_campaign(row)

    async def attach_media(
        self,
        campaign_id: int,
        media: CampaignMedia | None,
        *,
        expect: Sequence[CampaignStatus] | None = None,
    ) -> Campaign:
        """Set (or, with None, remove) the campaign's attachment. With `expect`, only while
        the campaign is in one of those states, checked under the row lock (else NotFound),
        so a launch racing the attach cannot send half the recipients without it."""
        async with self._db.session() as session:
            row = await _locked(session, campaign_id, expect)
            row.media_sha256 = None if media is None else media.sha256
            row.media_kind = None if media is None else media.kind
            row.media_mimetype = None if media is None else media.mimetype
            row.media_filename = None if media is None else media.filename
            row.media_size = None if media is None else media.size
            return _to_campaign(row)

    async def paired_at(self, session_id: int) -> datetime | None:
        async with self._db.session() as session:
            row = await session.get(WaSessionRow, session_id)
            return None if row is None else row.paired_at
