"""A client's daily AI token budget set, and part or all of it already spent."""

from __future__ import annotations

from datetime import datetime

from engine.clock import utcnow
from storage.db import Database
from storage.records import AICall
from storage.repos import AICallRepo, AISettingsRepo


async def spend_budget(
    db: Database, client_id: int, *, budget: int, spent: int, at: datetime | None = None
) -> None:
    """`client_id`'s daily token budget set to `budget`, with one reply call of `spent` tokens
    recorded at `at` (now by default)."""
    await AISettingsRepo(db).update(client_id, daily_token_budget=budget)
    await AICallRepo(db).record(
        AICall(client_id, None, at or utcnow(), "reply", "gpt-test", True, spent)
    )
