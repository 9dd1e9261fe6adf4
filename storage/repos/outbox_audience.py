"""Who may still receive a queued delivery: the check the outbox makes before each attempt
and when an operator is removed or loses clients."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AlertRow, AlertSubscriptionRow, OperatorClientRow, OperatorRow

NO_OPERATOR = "no operator has this chat any more"
CLIENT_HIDDEN = "nobody in this chat may see that alert's client any more"


async def refusals(
    session: AsyncSession, deliveries: Sequence[tuple[int, str, int | None]]
) -> dict[int, str]:
    """Reasons to cancel, by delivery id, for (id, chat_ref, alert_id) triples.

    A chat belongs to the operator whose platform id it is (`tg:<id>` is also that person's
    private chat; a Slack `slack:U...` is delivered through the DM opened for that user), and
    to the operators who subscribed it (which covers any other form, a `slack:D...` DM or a
    group). One of them must still exist, and for an alert's message one of them must still
    see the alert's client (an alert about no client goes to operators of every client).
    """
    chats = {chat for _, chat, _ in deliveries}
    if not chats:
        return {}
    owners: dict[str, dict[int, bool]] = {chat: {} for chat in chats}
    by_id = select(OperatorRow.platform_id, OperatorRow.id, OperatorRow.all_clients).where(
        OperatorRow.platform_id.in_(chats)
    )
    by_subscription = (
        select(AlertSubscriptionRow.chat_ref, OperatorRow.id, OperatorRow.all_clients)
        .join(OperatorRow, OperatorRow.id == AlertSubscriptionRow.operator_id)
        .where(AlertSubscriptionRow.chat_ref.in_(chats))
    )
    for query in (by_id, by_subscription):
        for chat, operator_id, all_clients in await session.execute(query):
            owners[chat][operator_id] = bool(all_clients)
    alert_ids = {alert_id for _, _, alert_id in deliveries if alert_id is not None}
    about: dict[int, int | None] = {}
    if alert_ids:
        clients = select(AlertRow.id, AlertRow.client_id).where(AlertRow.id.in_(alert_ids))
        about = {alert_id: client_id for alert_id, client_id in await session.execute(clients)}
    scoped = {op for who in owners.values() for op, every in who.items() if not every}
    scopes: dict[int, set[int]] = defaultdict(set)
    if scoped and about:
        rows = select(OperatorClientRow.operator_id, OperatorClientRow.client_id).where(
            OperatorClientRow.operator_id.in_(scoped)
        )
        for operator_id, client_id in await session.execute(rows):
            scopes[operator_id].add(client_id)
    reasons: dict[int, str] = {}
    for delivery_id, chat, alert_id in deliveries:
        who = owners[chat]
        if not who:
            reasons[delivery_id] = NO_OPERATOR
        elif alert_id is not None and alert_id in about and not any(who.values()):
            subject = about[alert_id]
            if subject is None or not any(subject in scopes[op] for op in who):
                reasons[delivery_id] = CLIENT_HIDDEN
    return reasons
