"""Who a WhatsApp id is: contacts found by phone or LID, and the merge of a LID-only contact.

After WhatsApp's LID migration a person may write from ``<digits>@lid`` before (or without)
WhatsApp telling us their phone. Such a contact is kept with its LID alone and merged into the
phone's contact as soon as both are known, so their opt-out, replies and history follow the
imported phone. Everything here runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CampaignRecipientRow,
    ContactRow,
    ContactTagRow,
    MessageRow,
    utcnow,
)
from storage.records import WaIdentity

IdKey = tuple[int, str, str]
"""A unique key naming a contact: (client, "phone" or "lid", value)."""


def identity_keys(client_id: int, who: WaIdentity) -> list[IdKey]:
    """The unique keys `who` names a contact of the client by."""
    named = (("phone", who.phone), ("lid", who.lid))
    return [(client_id, kind, value) for kind, value in named if value]


def row_keys(row: ContactRow) -> list[IdKey]:
    """The unique keys naming `row`."""
    return identity_keys(row.client_id, WaIdentity(phone=row.phone, lid=row.lid))


async def rows_named(
    session: AsyncSession, keys: Collection[IdKey], *, lock: bool = True
) -> list[ContactRow]:
    """The contacts any of `keys` names, in one read (`FOR UPDATE` unless told otherwise)."""
    phones = {value for _, kind, value in keys if kind == "phone"}
    lids = {value for _, kind, value in keys if kind == "lid"}
    clauses = []
    if phones:
        clauses.append(ContactRow.phone.in_(phones))
    if lids:
        clauses.append(ContactRow.lid.in_(lids))
    if not clauses:
        return []
    query = select(ContactRow).where(
        ContactRow.client_id.in_({client_id for client_id, _, _ in keys}), or_(*clauses)
    )
    rows = await session.scalars(query.with_for_update() if lock else query)
    # The IN lists mix the keys' clients: keep the rows a key names for its own client.
    wanted = set(keys)
    return [row for row in rows if any(key in wanted for key in row_keys(row))]


async def find_rows(
    session: AsyncSession, client_id: int, who: WaIdentity
) -> tuple[ContactRow | None, ContactRow | None]:
    """The contact with this phone and the contact with this LID (maybe the same row)."""
    rows = await rows_named(session, identity_keys(client_id, who))
    by_phone = next((r for r in rows if who.phone and r.phone == who.phone), None)
    by_lid = next((r for r in rows if who.lid and r.lid == who.lid), None)
    return by_phone, by_lid


async def merge_into(session: AsyncSession, keep: ContactRow, gone: ContactRow) -> None:
    """Move everything of ``gone`` (a LID-only contact) to ``keep`` and delete ``gone``.

    The earliest opt-out and the latest AI pause win, so merging never re-enables anything.
    """
    await session.execute(
        update(MessageRow).where(MessageRow.contact_id == gone.id).values(contact_id=keep.id)
    )
    taken = set(
        await session.scalars(
            select(CampaignRecipientRow.campaign_id).where(
                CampaignRecipientRow.contact_id == keep.id
            )
        )
    )
    moving = update(CampaignRecipientRow).where(CampaignRecipientRow.contact_id == gone.id)
    if taken:
        moving = moving.where(CampaignRecipientRow.campaign_id.not_in(taken))
    await session.execute(moving.values(contact_id=keep.id))
    tags = set(
        await session.scalars(select(ContactTagRow.tag).where(ContactTagRow.contact_id == keep.id))
    )
    for tag in await session.scalars(
        select(ContactTagRow.tag).where(ContactTagRow.contact_id == gone.id)
    ):
        if tag not in tags:
            session.add(ContactTagRow(contact_id=keep.id, tag=tag))
    keep.name = keep.name or gone.name
    keep.fields = {**(gone.fields or {}), **(keep.fields or {})}
    keep.opted_out_at = _earliest(keep.opted_out_at, gone.opted_out_at)
    keep.ai_paused_until = _latest(keep.ai_paused_until, gone.ai_paused_until)
    if gone.last_message_at is not None and (
        keep.last_message_at is None or gone.last_message_at > keep.last_message_at
    ):
        keep.last_message_at, keep.last_direction = gone.last_message_at, gone.last_direction
    lid = gone.lid
    await session.execute(delete(ContactRow).where(ContactRow.id == gone.id))
    await session.flush()
    keep.lid = keep.lid or lid
    keep.updated_at = utcnow()
    await session.flush()


async def attach(session: AsyncSession, client_id: int, who: WaIdentity) -> ContactRow | None:
    """Find the contact ``who`` names, learn the ids it lacked, merging a LID-only duplicate;
    None when no contact has either id."""
    by_phone, by_lid = await find_rows(session, client_id, who)
    if by_phone is not None and by_lid is not None and by_phone.id != by_lid.id:
        if by_lid.phone is None:
            await merge_into(session, by_phone, by_lid)
        else:
            # The LID moved to another phone (a new SIM): it names the phone's contact now.
            by_lid.lid = None
            await session.flush()
            by_phone.lid = who.lid
        by_lid = by_phone
    elif (
        by_phone is None
        and by_lid is not None
        and who.phone
        and by_lid.phone not in (None, who.phone)
    ):
        # WhatsApp now maps this LID to a phone we have no contact for: a new person.
        by_lid.lid = None
        await session.flush()
        return None
    row = by_phone or by_lid
    if row is None:
        return None
    changed = False
    if who.phone and row.phone is None:
        row.phone, changed = who.phone, True
    if who.wa_id and row.wa_id != who.wa_id:
        row.wa_id, changed = who.wa_id, True
    if who.lid and row.lid != who.lid:
        row.lid, changed = who.lid, True
    if changed:
        row.updated_at = utcnow()
    return row


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a and b else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b
