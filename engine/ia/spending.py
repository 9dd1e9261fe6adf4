"""What a client has left to spend on the model today, from the log of its calls.

Every model call is checked against this before it is made (replies, the intent classifier,
digest and forward summaries) and recorded in `AICallRepo` after it, so the daily budget is
one number whatever asked for the tokens.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from storage.records import Client
from storage.repos import AICallRepo


def day_start(client: Client, now: datetime) -> datetime:
    """The client's last local midnight at `now` (aware): its daily budget starts there."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(ZoneInfo(client.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def tokens_left_today(
    calls: AICallRepo, client: Client, daily_budget: int, now: datetime
) -> int:
    """Tokens the client may still spend today (never negative)."""
    return max(0, daily_budget - await calls.tokens_since(client.id, day_start(client, now)))
