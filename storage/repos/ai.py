"""Per-client AI settings; a client without a row has AI off with the defaults."""

from __future__ import annotations

from typing import Any

from storage.db import Database, NotFound
from storage.models import AISettingsRow, ClientRow, utcnow
from storage.records import AISettings

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
                raise NotFound(f"no client with id {client_id}")
            row = await session.get(AISettingsRow, client_id)
            if row is None:
                row = _defaults(client_id)
                session.add(row)
            for name, value in changes.items():
                setattr(row, name, list(value) if name == "opt_out_keywords" else value)
            row.updated_at = utcnow()
            await session.flush()
            return _to_settings(row)
