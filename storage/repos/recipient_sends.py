"""The two commits of a campaign send (storage/repos/recipients.py offers them on the repo).

At-most-once needs `sending` committed before the network call and `sent` after it. Each is
one transaction that also does what a send needs at that moment: the claim reads the campaign's
status and the head of its queue, keeps what WhatsApp said of the number, checks the opt-out
and commits `sending` (or `skipped`); `record_sent` commits `sent` with the stored message and
the contact's last message. Nothing else is read in between.

When the number's next send follows at once (no pacing gap), the `sent` of one send is
committed by the next send's claim, in its transaction (`Sent`, `claim_in(sent=...)`): one
commit per send instead of two, and `sent` is still committed after the network call and
never before.

The statements are built once: a send runs each of them, and building one anew costs about as
much as running it. Values come as bound parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Table, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Select

from storage.models import CampaignRecipientRow, CampaignRow, ContactRow, utcnow
from storage.records import (
    CampaignStatus,
    Lease,
    NewMessage,
    Recipient,
    RecipientState,
    SkipReason,
    WaIdentity,
)
from storage.repos.contact_ids import attach
from storage.repos.leases import hold_in
from storage.repos.messages import record_message


@dataclass(frozen=True)
class Claim:
    """What a claim found and did in its one transaction.

    `recipient` is the head of the campaign's queue as it is now: `sending` when it was claimed,
    `skipped` (opted out) when the checks at send time refused it, `queued` when it is not the
    recipient the caller planned for or its number was never checked (nothing was written:
    plan again for this one), None when nobody is queued (then `status` is None too: nothing
    was read). `following` is the recipient after it, to plan the next send for.
    """

    status: CampaignStatus | None
    recipient: Recipient | None
    following: Recipient | None


@dataclass(frozen=True)
class Sent:
    """A send WhatsApp accepted whose `sent` is not committed yet: its recipient (`sending`)
    and the message to store."""

    recipient_id: int
    message: NewMessage


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])
_QUEUE_HINT = "FORCE INDEX (ix_campaign_recipients_campaign_id_state)"


def by_queue_index(query: _Query, recipients: Any) -> _Query:
    """`query` (queued recipients of one campaign in id order) read through the index on
    (campaign_id, state). MariaDB would rather walk the primary key in id order until enough
    rows match, reading every recipient sent already, and in a locking read locking them."""
    return query.with_hint(recipients, _QUEUE_HINT, dialect_name="mysql").with_hint(
        recipients, _QUEUE_HINT, dialect_name="mariadb"
    )


_R = cast(Table, CampaignRecipientRow.__table__)
_C = cast(Table, ContactRow.__table__)
_K = cast(Table, CampaignRow.__table__)

_HEAD = by_queue_index(
    select(
        _K.c.status,
        _R.c.id,
        _R.c.campaign_id,
        _R.c.contact_id,
        _R.c.state,
        _R.c.reason,
        _R.c.body,
        _R.c.wa_message_id,
        _R.c.sent_at,
        _R.c.replied_at,
        _C.c.client_id,
        _C.c.phone,
        _C.c.wa_id,
        _C.c.lid,
        _C.c.name,
        _C.c.fields,
        _C.c.opted_out_at,
    )
    .select_from(_R.join(_C, _C.c.id == _R.c.contact_id).join(_K, _K.c.id == _R.c.campaign_id))
    .where(_R.c.campaign_id == bindparam("campaign_id"), _R.c.state == RecipientState.QUEUED.value)
    .order_by(_R.c.id)
    .limit(2)
    # Locked (MySQL/MariaDB) until the claim commits: a pause, an opt-out or a cancel waits.
    .with_for_update(),
    _R,
)
# The claim's guard is in the UPDATE itself: SQLite runs a transaction's reads before its first
# write outside it (pysqlite), so what the read saw is checked again where it is written.
_CLAIM = (
    update(_R)
    .where(
        _R.c.id == bindparam("recipient_id"),
        _R.c.state == RecipientState.QUEUED.value,
        exists().where(_K.c.id == _R.c.campaign_id, _K.c.status == CampaignStatus.RUNNING.value),
        ~exists().where(_C.c.id == _R.c.contact_id, _C.c.opted_out_at.is_not(None)),
    )
    .values(
        state=RecipientState.SENDING.value,
        body=bindparam("body"),
        sending_at=bindparam("at"),
        updated_at=bindparam("at"),
    )
)
_SKIP_OPTED_OUT = (
    update(_R)
    .where(_R.c.id == bindparam("recipient_id"), _R.c.state == RecipientState.QUEUED.value)
    .values(
        state=RecipientState.SKIPPED.value,
        reason=SkipReason.OPTED_OUT.value,
        updated_at=bindparam("at"),
    )
)
_LEARN_WA_ID = (
    update(_C)
    .where(_C.c.id == bindparam("contact_id"))
    .values(wa_id=bindparam("wa_id"), updated_at=bindparam("at"))
)
_SENT = (
    update(_R)
    .where(_R.c.id == bindparam("recipient_id"), _R.c.state == RecipientState.SENDING.value)
    .values(
        state=RecipientState.SENT.value,
        wa_message_id=bindparam("wa_message_id"),
        wa_key_id=bindparam("wa_key_id"),
        sent_at=bindparam("sent_at"),
        updated_at=bindparam("at"),
    )
)

_HeadRow = Row[*tuple[Any, ...]]


def recipient_of(row: Any, contact: Any) -> Recipient:
    """The recipient of a `CampaignRecipientRow` and its `ContactRow`, or of one Core row that
    carries both tables' columns (`_HEAD`: pass it twice)."""
    # Audiences hold only contacts with a phone (selection_query), and merging keeps phones.
    assert contact.phone is not None, f"recipient {row.id} has no phone"
    return Recipient(
        id=row.id,
        campaign_id=row.campaign_id,
        contact_id=row.contact_id,
        phone=contact.phone,
        wa_id=contact.wa_id,
        name=contact.name,
        fields=dict(contact.fields or {}),
        state=RecipientState(row.state),
        reason=row.reason,
        body=row.body,
        wa_message_id=row.wa_message_id,
        sent_at=row.sent_at,
        replied_at=row.replied_at,
        opted_out=contact.opted_out_at is not None,
    )


async def claim_in(
    session: AsyncSession,
    campaign_id: int,
    recipient_id: int,
    render: Callable[[Recipient], str],
    *,
    wa_id: str | None = None,
    lid: str | None = None,
    fence: Lease | None = None,
    sent: Sent | None = None,
) -> Claim:
    """The first commit of a send, in the caller's transaction: first the `sent` of the send
    before, when given (`record_sent_in`), then read the campaign's status and
    the head of its queue; when the head is `recipient_id` and the campaign runs, keep what
    ``queryWidExists`` said of the contact (`wa_id`, `lid`: merging a LID-only contact that
    wrote before, whose opt-out then counts), skip it when the contact opted out, else mark it
    `sending` with the body `render` makes of the recipient as it is now. With a `fence` (a
    worker of a split deployment), nothing is read or written unless that session lease is
    still held at its epoch: `LeaseLost` (storage/repos/leases.py `hold_in`); the caller
    then commits `sent` alone."""
    if fence is not None:
        await hold_in(session, fence, utcnow())
    connection = await session.connection()
    if sent is not None:
        await record_sent_in(connection, sent.recipient_id, sent.message)
    found = (await connection.execute(_HEAD, {"campaign_id": campaign_id})).all()
    if not found:
        return Claim(None, None, None)
    status = CampaignStatus(found[0].status)
    head = recipient_of(found[0], found[0])
    following = recipient_of(found[1], found[1]) if len(found) > 1 else None
    if status is not CampaignStatus.RUNNING or head.id != recipient_id:
        return Claim(status, head, following)
    now = utcnow()
    if wa_id is not None:
        head = await _learn(session, found[0], head, wa_id, lid, now)
    elif head.wa_id is None and not head.opted_out:
        return Claim(status, head, following)  # its number was never checked: check it first
    if head.opted_out:
        moved = await connection.execute(_SKIP_OPTED_OUT, {"recipient_id": head.id, "at": now})
        outcome = dataclasses.replace(
            head, state=RecipientState.SKIPPED, reason=SkipReason.OPTED_OUT.value
        )
    else:
        body = render(head)
        moved = await connection.execute(_CLAIM, {"recipient_id": head.id, "body": body, "at": now})
        outcome = dataclasses.replace(head, state=RecipientState.SENDING, body=body)
    if not moved.rowcount:
        return Claim(status, head, following)  # it moved meanwhile: read it again
    return Claim(status, outcome, following)


async def _learn(
    session: AsyncSession,
    row: _HeadRow,
    head: Recipient,
    wa_id: str,
    lid: str | None,
    at: datetime,
) -> Recipient:
    """Keep the contact's WhatsApp ids in the claim's transaction; the recipient as the contact
    is now (a LID-only contact merged into it may bring an opt-out)."""
    if lid is None or lid == row.lid:
        # No LID to merge: only the phone id may be new, which is all `attach` would write.
        if wa_id != row.wa_id:
            await session.execute(
                _LEARN_WA_ID, {"contact_id": row.contact_id, "wa_id": wa_id, "at": at}
            )
        return dataclasses.replace(head, wa_id=wa_id)
    contact = await attach(
        session, row.client_id, WaIdentity(phone=row.phone, wa_id=wa_id, lid=lid)
    )
    assert contact is not None, "the recipient's contact has this phone"
    await session.flush()
    return dataclasses.replace(
        head, wa_id=contact.wa_id, opted_out=contact.opted_out_at is not None
    )


async def record_sent_in(
    connection: AsyncConnection, recipient_id: int, message: NewMessage
) -> bool:
    """The second commit of a send, in the caller's transaction: `sending -> sent` and the
    campaign message stored with the contact's last message. False (nothing stored) when the
    row is no longer `sending`."""
    assert message.wa_message_id is not None
    result = await connection.execute(
        _SENT,
        {
            "recipient_id": recipient_id,
            "wa_message_id": message.wa_message_id,
            "wa_key_id": message.wa_key_id,
            "sent_at": message.sent_at,
            "at": utcnow(),
        },
    )
    if not result.rowcount:
        return False
    await record_message(connection, message)
    return True
