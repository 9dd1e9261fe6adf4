"""Per-client AI settings; a client without a row has AI off with the defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

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


def _to_settings(row: AISettingsRow) -> AISettings:
    return AISettings(
        client_id=row.client_id,
        enabled=row.enabled,
        model=row.model,
        system_prompt=row.system_prompt,
        business_context=row.business_context,
        history_window=row.history_window,
        max_reply_tokens=row.max_reply_tokens,
        daily_token_budget=row.daily_token_budget,
        fallback_text=row.fallback_text,
        pause_s=row.pause_s,
        debounce_s=row.debounce_s,
        groups_enabled=row.groups_enabled,
        opt_out_keywords=tuple(row.opt_out_keywords or ()),
        rule_replies=row.rule_replies or "",
        opt_out_reply=row.opt_out_reply,
        handoff_reply=row.handoff_reply,
    )


def _defaults(client_id: int) -> AISettingsRow:
    # Column defaults apply only on flush; spell them out so an unsaved row reads the same.
    return AISettingsRow(
        client_id=client_id,
        enabled=False,
        model=None,
        system_prompt="",
        business_context="",
        history_window=10,
        max_reply_tokens=300,
        daily_token_budget=200_000,
        fallback_text=None,
        pause_s=3600,
        debounce_s=4.0,
        groups_enabled=False,
        opt_out_keywords=[],
    )


class AISettingsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, client_id: int) -> AISettings:
        async with self._db.session() as session:
            row = await session.get(AISettingsRow, client_id)
            return _to_settings(row if row is not None else _defaults(client_id))

    async def update(self, client_id: int, **changes: Any) -> AISettings:
        unknown = set(changes) - EDITABLE
        if unknown:
            raise ValueError(f"unknown AI settings: {', '.join(sorted(unknown))}")
        async with self._db.session() as session:
            if await session.get(ClientRow, client_id) is None:
                raise NotFound(phrase("record.no_client_id", id=client_id))
            row = await session.get(AISettingsRow, client_id)
            if row is None:
                row = _defaults(client_id)
                session.add(row)
            for name, value in changes.items():
                setattr(row, name, list(value) if name == "opt_out_keywords" else value)
            row.updated_at = utcnow()
            await session.flush()
            return _to_settings(row)


class AICallRepo:
    """The log of model calls; also the source of each client's token usage."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, call: AICall) -> None:
        async with self._db.session() as session:
            session.add(
                AICallRow(
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
            )

    async def tokens_since(self, client_id: int, since: datetime) -> int:
        query = select(func.coalesce(func.sum(AICallRow.tokens), 0)).where(
            AICallRow.client_id == client_id, AICallRow.at >= since
        )
        async with self._db.session() as session:
            return int(await session.scalar(query) or 0)

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
