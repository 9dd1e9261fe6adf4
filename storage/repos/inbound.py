"""The writes of one inbound message in one transaction, and the reads of one AI turn in one.

Storing a message used to open five transactions (the client, its AI settings, the contact, the
message with the contact's `last_message_at`, the campaign reply link); an AI turn eight more
(bench/README.md). Here the inbound path gets one `InboundUnit` per message: the cached clients
and AI settings checked against `config_version` (storage/config.py), the contact upserted, the
message added with the contact's last message, and the campaign it answers marked replied, all
committed together. `turn_context` is the AI turn's single read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.config import ConfigSnapshot
from storage.db import Database
from storage.records import AICall, Contact, Direction, Message, NewMessage, WaIdentity
from storage.repos.ai import call_row, tokens_since_in
from storage.repos.contacts import contact_by_id_in, resolve_in
from storage.repos.messages import (
    conversation_in,
    insert_message,
    set_intent_in,
    stored_message_id,
)
from storage.repos.recipients import link_reply_in

T = TypeVar("T")


class InboundUnit:
    """One transaction of the inbound path; what it reads and writes commits together."""

    def __init__(self, session: AsyncSession, config: ConfigSnapshot, *, again: bool) -> None:
        self._session = session
        self.config = config
        self._again = again

    async def contact(self, client_id: int, who: WaIdentity, *, name: str | None) -> Contact:
        """The contact WhatsApp names, created on first sight (`ContactRepo.resolve`)."""
        return await resolve_in(self._session, client_id, who, name=name)

    async def add(self, new: NewMessage) -> Message | None:
        """Store the message, move the contact's last message forward and, for a message the
        contact wrote, mark the campaign message it answers as replied; None when this session
        stored that WhatsApp id before (nothing is written then). The unique index says so on
        the first pass (`run` then goes again); the second pass asks first."""
        session = self._session
        if self._again and await self._seen(new):
            return None
        stored = await insert_message(session, new)
        if new.direction is Direction.IN:
            await link_reply_in(session, new.contact_id, new.sent_at)
        return stored

    async def _seen(self, new: NewMessage) -> bool:
        if new.wa_message_id is None or new.session_id is None:
            return False
        found = await stored_message_id(self._session, new.session_id, new.wa_message_id)
        return found is not None


@dataclass(frozen=True)
class TurnContext:
    """What an AI turn reads before it calls the model, as of one transaction."""

    config: ConfigSnapshot
    contact: Contact
    history: list[Message]
    """Newest first, as `MessageRepo.conversation` gives it."""
    tokens_today: int


class InboundRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def run(self, work: Callable[[InboundUnit], Awaitable[T]]) -> T:
        """Run `work` in one transaction and commit it. A unique key another writer took
        meanwhile (a contact created at the same instant, the same message stored by a replay)
        runs it once more: the second pass finds what the first could not see. So does a
        deadlock MariaDB broke by rolling this transaction back (two new contacts inserted
        into the same gap of the phone index), a few times (`Database.run`)."""

        async def attempt(session: AsyncSession, *, again: bool) -> T:
            config = await self._db.config.fresh(session)
            return await work(InboundUnit(session, config, again=again))

        try:
            return await self._db.run(partial(attempt, again=False))
        except IntegrityError:
            return await self._db.run(partial(attempt, again=True))

    async def config(self) -> ConfigSnapshot:
        """The clients and AI settings as committed now (one single-row read when cached)."""
        async with self._db.session() as session:
            return await self._db.config.fresh(session)

    async def turn_context(
        self, client_id: int, contact_id: int, *, extra: int, since: datetime
    ) -> TurnContext:
        """The AI turn's reads in one transaction: the client's settings, the contact as it is
        now, its last `history_window + extra` messages and the tokens the client spent since
        `since` (today in its time zone), from which the budget is checked."""
        async with self._db.session() as session:
            config = await self._db.config.fresh(session)
            settings = config.settings_of(client_id)
            contact = await contact_by_id_in(session, contact_id)
            history = await conversation_in(session, contact_id, settings.history_window + extra)
            used = await tokens_since_in(session, client_id, since)
            return TurnContext(config, contact, history, used)

    async def classified(
        self, message_id: int, contact_id: int, *, call: AICall | None, intent: str | None
    ) -> Contact:
        """What classifying a message wrote, in one transaction: the model call's record (None
        when the rules decided), the message's intent when it changed, and the contact as it
        is now (opted out while the model thought?)."""
        async with self._db.session() as session:
            if call is not None:
                session.add(call_row(call))
            if intent is not None:
                await set_intent_in(session, message_id, intent)
            return await contact_by_id_in(session, contact_id)

    async def record_call(self, call: AICall, contact_id: int) -> Contact:
        """Log a model call with its tokens and read the contact as it is now, in one
        transaction: the turn drops its reply when the chat was paused or opted out meanwhile."""
        async with self._db.session() as session:
            session.add(call_row(call))
            return await contact_by_id_in(session, contact_id)
