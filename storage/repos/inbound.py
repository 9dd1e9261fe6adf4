"""The inbound path's writes, many messages to a transaction, and the reads of one AI turn in one.

Storing a message used to open five transactions (the client, its AI settings, the contact, the
message with the contact's `last_message_at`, the campaign reply link); an AI turn eight more
(bench/README.md). Here every message's writes go through one group commit
(storage/group_commit.py): the messages of every chat that arrive while a batch is being
written are stored together in the next, in a fixed number of statements whatever their number
(the cached clients and AI settings checked against `config_version` (storage/config.py), which
of them were stored before, their contacts, the messages with the contacts' last message, the
campaign messages they answer). `turn_context` is the AI turn's single read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.config import ConfigSnapshot
from storage.db import Database, StorageUnavailable
from storage.group_commit import GroupCommit
from storage.records import AICall, Contact, Direction, Message, NewMessage
from storage.repos.ai import call_row, tokens_since_in, tokens_spent_in
from storage.repos.contacts import Wanted, contact_by_id_in, resolve_many_in
from storage.repos.messages import conversation_in, insert_messages, set_intent_in, stored_keys
from storage.repos.recipients import link_replies_in

logger = logging.getLogger(__name__)

SEEN_BEFORE = "seen before; ignored"


@dataclass(frozen=True)
class InboundWrite:
    """What storing one message writes: its contact (found or created, as `resolve_in`) and
    the message, whose `contact_id` is filled in with that contact's."""

    contact: Wanted
    message: NewMessage
    tokens_since: datetime | None = None
    """For a message the model will read: the start of its client's budget day, so the batch
    reads what the client spent since (`InboundStored.tokens_today`)."""


@dataclass(frozen=True)
class InboundStored:
    """A message stored for the first time, with its contact, the configuration it was
    planned with and, when its write asked, the tokens its client spent today as of the
    batch's transaction."""

    config: ConfigSnapshot
    contact: Contact
    message: Message
    tokens_today: int | None = None


# What to store for one message, decided from the configuration valid in the batch's
# transaction; a reason (a str) when nothing is to be stored (a group with groups off).
Plan = Callable[[ConfigSnapshot], InboundWrite | str]


@dataclass(frozen=True)
class TurnContext:
    """What an AI turn reads before it calls the model, as of one transaction."""

    config: ConfigSnapshot
    contact: Contact
    history: list[Message]
    """Newest first, as `MessageRepo.conversation` gives it."""
    tokens_today: int


class InboundRepo:
    def __init__(self, db: Database, *, max_batch: int = 100) -> None:
        self._db = db
        self._batches: GroupCommit[Plan, InboundStored | str] = GroupCommit(
            self._write, max_items=max_batch
        )

    @property
    def batches(self) -> int:
        """How many batches were written (each one transaction, retries aside)."""
        return self._batches.batches

    async def store(self, plan: Plan) -> InboundStored | str:
        """Store one message as `plan` decides, with whatever other messages are being stored
        at the same moment, in one transaction; a reason (a str) when nothing was stored: the
        plan's own, or `SEEN_BEFORE` for a WhatsApp id its session stored before. An error
        the plan raises is this message's alone; a database error (`StorageError`) is every
        message's of the batch, none of which was stored."""
        return await self._batches.submit(plan)

    async def _write(
        self, plans: list[Plan], *, again_on_unique: bool = True
    ) -> Sequence[InboundStored | str | Exception]:
        """One transaction for the batch. If it fails for anything but the database being
        unavailable (which is every message's trouble: their callers retry), a batch of several
        is split and each message stored alone, so one message's fault (a value its column
        refuses) costs no other. A unique key another writer took meanwhile (a contact created
        at the same instant by another process, our own reply's echo stored by its sender) runs
        a single message once more: the second pass finds what the first could not see. A
        deadlock MariaDB broke by rolling the batch back runs again a few times (`Database.run`)."""
        try:
            return await self._db.run(partial(self._write_in, plans))
        except StorageUnavailable:
            raise
        except Exception as exc:
            if len(plans) > 1:
                logger.info("a batch of %d failed (%s); storing each alone", len(plans), exc)
                return [await self._write_alone(plan) for plan in plans]
            if isinstance(exc, IntegrityError) and again_on_unique:
                return await self._write(plans, again_on_unique=False)
            return [exc]

    async def _write_alone(self, plan: Plan) -> InboundStored | str | Exception:
        """One message of a split batch: its outcome, an outage included (the messages
        before it are stored, and their callers must hear so)."""
        try:
            return (await self._write([plan]))[0]
        except StorageUnavailable as exc:
            return exc

    async def _write_in(
        self, plans: list[Plan], session: AsyncSession
    ) -> list[InboundStored | str | Exception]:
        config = await self._db.config.fresh(session)
        outcomes: list[InboundStored | str | Exception] = []
        writes: dict[int, InboundWrite] = {}
        for index, plan in enumerate(plans):
            try:
                planned: InboundWrite | str | Exception = plan(config)
            except Exception as exc:  # that message's trouble (a client gone), not the batch's
                planned = exc
            if isinstance(planned, InboundWrite):
                writes[index] = planned
                planned = SEEN_BEFORE  # until it is stored below
            outcomes.append(planned)
        # Stored before, or a second copy in this batch (its chat's other form): SEEN_BEFORE.
        seen = await stored_keys(session, [w.message for w in writes.values()])
        for index, write in list(writes.items()):
            key = (write.message.session_id, write.message.wa_key_id)
            if key in seen:
                del writes[index]
            elif write.message.wa_key_id is not None:
                seen.add(key)
        if not writes:
            return outcomes
        contacts = await resolve_many_in(session, [w.contact for w in writes.values()])
        news = [
            dataclasses.replace(write.message, contact_id=contact.id)
            for write, contact in zip(writes.values(), contacts, strict=True)
        ]
        messages = await insert_messages(session, news)
        await link_replies_in(
            session,
            [(new.contact_id, new.sent_at) for new in news if new.direction is Direction.IN],
        )
        since: dict[int, datetime] = {}
        for write in writes.values():
            if write.tokens_since is not None:
                since.setdefault(write.message.client_id, write.tokens_since)
        spent = await tokens_spent_in(session, since)
        for (index, write), contact, message in zip(
            writes.items(), contacts, messages, strict=True
        ):
            tokens = None if write.tokens_since is None else spent[write.message.client_id]
            outcomes[index] = InboundStored(config, contact, message, tokens)
        return outcomes

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
