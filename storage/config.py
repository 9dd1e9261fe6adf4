"""Clients and their AI settings, cached for the hot paths and never served stale.

Every inbound message and every AI turn needs its client (region, time zone, the other clients'
names for the output guard) and the client's AI settings; reading them is most of what those
paths did in the database. They change only when an operator changes them, so each process keeps
them in a `ConfigCache` and checks, in the transaction the hot path opens anyway, one counter:
`config_version`, which every write to clients or AI settings increments in its own transaction
(`bump`), whichever process writes (`waops run`, the CLI, another worker). A moved counter
reloads both tables in that same transaction, so what the path reads is what was committed when
its transaction began: `/ai haby off` takes effect on the very next message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AISettingsRow, ClientRow, ConfigVersionRow
from storage.records import AISettings, Client

_ROW = 1


def to_client(row: ClientRow) -> Client:
    return Client(row.id, row.slug, row.name, row.region, row.timezone, row.created_at)


def settings_of_row(row: AISettingsRow) -> AISettings:
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


def default_row(client_id: int) -> AISettingsRow:
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


@dataclass(frozen=True)
class ConfigSnapshot:
    """Every client and its AI settings as committed at `version`."""

    version: int | None
    clients: dict[int, Client]
    settings: dict[int, AISettings] = field(default_factory=dict)

    def client(self, client_id: int) -> Client | None:
        return self.clients.get(client_id)

    def settings_of(self, client_id: int) -> AISettings:
        """The client's AI settings; a client without a row has the defaults (AI off)."""
        found = self.settings.get(client_id)
        return found if found is not None else settings_of_row(default_row(client_id))

    def others(self, client_id: int) -> list[Client]:
        """Every other client (the output guard keeps their names out of a reply)."""
        return [c for c in sorted(self.clients.values(), key=lambda c: c.slug) if c.id != client_id]


class ConfigCache:
    """One per `Database`: the newest snapshot this process read, and its version."""

    def __init__(self) -> None:
        self._snapshot: ConfigSnapshot | None = None
        self.reloads = 0

    async def fresh(self, session: AsyncSession) -> ConfigSnapshot:
        """The snapshot valid in `session`'s transaction: one single-row read, plus a reload
        of both tables when the counter moved since the last one (or has no row: then every
        call reloads, which is slow but never stale)."""
        version = await session.scalar(
            select(ConfigVersionRow.version).where(ConfigVersionRow.id == _ROW)
        )
        cached = self._snapshot
        if cached is not None and version is not None and cached.version == version:
            return cached
        clients = {row.id: to_client(row) for row in await session.scalars(select(ClientRow))}
        settings = {
            row.client_id: settings_of_row(row)
            for row in await session.scalars(select(AISettingsRow))
        }
        snapshot = ConfigSnapshot(version, clients, settings)
        self.reloads += 1
        # Two transactions may reload at once; keep the newer, never go back.
        if version is not None and (cached is None or (cached.version or -1) <= version):
            self._snapshot = snapshot
        return snapshot


async def bump(session: AsyncSession) -> None:
    """Tell every process's cache that clients or AI settings changed: called by their writers
    in the writing transaction, so the change and the new version commit together."""
    result = await session.execute(
        update(ConfigVersionRow)
        .where(ConfigVersionRow.id == _ROW)
        .values(version=ConfigVersionRow.version + 1)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        # The row migration 0008 made is gone (a table emptied by hand): make it again.
        session.add(ConfigVersionRow(id=_ROW, version=1))
        await session.flush()
