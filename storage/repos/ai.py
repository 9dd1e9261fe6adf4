"""Per-client AI settings; a client without a row has AI off with the defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.config import bump, default_row, settings_of_row
from storage.db import Database, NotFound
from storage.models import AICallRow, AISettingsRow, ClientRow, utcnow
from storage.records import AICall, AISettings
from storage.texts import phrase

EDITABLE = frozenset(
    {
        "enabled",
        "model",
        "system_prompt",
        "business_context",
        "history_window",
        "max_reply_tokens",
        "daily_token_budget",
        "fallback_text",
        "pause_s",
        "debounce_s",
        "groups_enabled",
        "opt_out_keywords",
        "rule_replies",
        "opt_out_reply",
        "handoff_reply",
    }
)


class AISettingsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, client_id: int) -> AISettings:
        async with self._db.session() as session:
            row = await session.get(AISettingsRow, client_id)
            return settings_of_row(row if row is not None else default_row(client_id))

    async def update(self, client_id: int, **changes: Any) -> AISettings:
        unknown = set(changes) - EDITABLE
        if unknown:
            raise ValueError(f"unknown AI settings: {', '.join(sorted(unknown))}")
        async with self._db.session() as session:
            if await session.get(ClientRow, client_id) is None:
                raise NotFound(phrase("record.no_client_id", id=client_id))
            row = await session.get(AISettingsRow, client_id)
            if row is None:
                row = default_row(client_id)
                session.add(row)
            for name, value in changes.items():
                setattr(row, name, list(value) if name == "opt_out_keywords" else value)
            row.updated_at = utcnow()
            await session.flush()
            await bump(session)
            return settings_of_row(row)


def call_row(call: AICall) -> AICallRow:
    return AICallRow(
        client_id=call.client_id,
        contact_id=call.contact_id,
        at=call.at,
        purpose=call.purpose,
        model=call.model,
        ok=call.ok,
        tokens=call.tokens,
        error_kind=call.error_kind,
        detail=call.detail,
    )


async def tokens_since_in(session: AsyncSession, client_id: int, since: datetime) -> int:
    """What the client's model calls since `since` cost, in tokens (its daily budget's use)."""
    return (await tokens_spent_in(session, {client_id: since}))[client_id]


async def tokens_spent_in(
    session: AsyncSession, since_by_client: dict[int, datetime]
) -> dict[int, int]:
    """`tokens_since_in` for several clients, each from its own `since`, in one statement."""
    if not since_by_client:
        return {}
    query = (
        select(AICallRow.client_id, func.coalesce(func.sum(AICallRow.tokens), 0))
        .where(
            or_(
                *(
                    and_(AICallRow.client_id == client_id, AICallRow.at >= since)
                    for client_id, since in since_by_client.items()
                )
            )
        )
        .group_by(AICallRow.client_id)
    )
    spent = {client_id: int(tokens) for client_id, tokens in (await session.execute(query)).all()}
    return {client_id: spent.get(client_id, 0) for client_id in since_by_client}


class AICallRepo:
    """The log of model calls; also the source of each client's token usage."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, call: AICall) -> None:
        async with self._db.session() as session:
            session.add(call_row(call))

    async def tokens_since(self, client_id: int, since: datetime) -> int:
        async with self._db.session() as session:
            return await tokens_since_in(session, client_id, since)

    async def failures_since(self, client_id: int, since: datetime) -> list[AICall]:
        query = (
            select(AICallRow)
            .where(AICallRow.client_id == client_id, AICallRow.at >= since, AICallRow.ok.is_(False))
            .order_by(AICallRow.at)
        )
        async with self._db.session() as session:
            return [
                AICall(
                    r.client_id,
                    r.contact_id,
                    r.at,
                    r.purpose,
                    r.model,
                    r.ok,
                    r.tokens,
                    r.error_kind,
                    r.detail,
                )
                for r in await session.scalars(query)
            ]
