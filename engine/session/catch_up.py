"""Catch-up after a (re)connect: inbound messages the page received that never reached us.

WhatsApp Web acknowledges a message to WhatsApp's servers as soon as it is in its own store
(IndexedDB, in the session's profile); from then on the servers never send it again. A message
that arrived just before the engine or the browser died was acknowledged but may never have
reached the inbound spool. So after every connect the page is asked for what it holds that is
newer than what we stored for that session, and each missing message goes through the normal
inbound path (`InboundReceived`: spool, dedupe by key id, one lane per chat).

Answers: a caught-up message is answered (rules, AI) only when it is still its chat's newest
message and was written less than `reply_window_s` ago: the contact is then still waiting for
us. An older one, or one the conversation has moved past, is stored and its opt-out honoured,
but nothing is sent: a reply to something said long ago, or already answered by a person on
the phone, would be wrong. After a first pairing (nothing stored yet) nothing caught up is
answered: those messages predate waops on this number.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.clock import Clock, SystemClock
from engine.events import EventBus, InboundReceived, SessionRef
from engine.whatsapp.driver import WhatsAppDriver
from engine.whatsapp.types import Backlog, InboundMessage
from storage.db import StorageUnavailable
from storage.repos import MessageRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatchUpPolicy:
    """How far back a catch-up looks and when a caught-up message still gets an answer."""

    margin_s: float = 600.0
    """Look back this far before the newest stored inbound message: messages of other chats
    may have reached the page out of order (an offline backlog arrives all at once)."""
    first_lookback_s: float = 3600.0
    """With no inbound message stored for the session yet (a new number), look back this far."""
    reply_window_s: float = 600.0
    max_chats: int = 50
    per_chat: int = 20


class CatchUp:
    """Reads one session's backlog from its page and publishes what is missing."""

    def __init__(
        self,
        ref: SessionRef,
        messages: MessageRepo,
        bus: EventBus,
        policy: CatchUpPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._ref = ref
        self._messages = messages
        self._bus = bus
        self._policy = policy or CatchUpPolicy()
        self._clock = clock or SystemClock()

    async def run(self, driver: WhatsAppDriver) -> int:
        """Publish every message the page holds that this session has not stored; how many.

        Raises what the driver raises (the page went away: the next connect tries again)."""
        policy, now = self._policy, self._clock.now()
        newest = await self._newest_stored()
        if newest is None:
            since = now - timedelta(seconds=policy.first_lookback_s)
        else:
            since = min(newest, now) - timedelta(seconds=policy.margin_s)
        backlog = await driver.catch_up(
            int(since.timestamp()), max_chats=policy.max_chats, per_chat=policy.per_chat
        )
        missing = await self._missing(backlog)
        window = timedelta(seconds=policy.reply_window_s)
        for message in missing:
            written = datetime.fromtimestamp(message.timestamp, now.tzinfo)
            answer = newest is not None and message.id in backlog.newest and now - written < window
            await self._bus.publish(
                InboundReceived(self._ref, dataclasses.replace(message, may_answer=answer))
            )
        if missing or not backlog.complete:
            logger.info(
                "session %s: caught up %d message(s) the page held since %s%s",
                self._ref,
                len(missing),
                since.isoformat(timespec="seconds"),
                "" if backlog.complete else " (bounded: older ones may be missing)",
            )
        return len(missing)

    async def _newest_stored(self) -> datetime | None:
        try:
            return await self._messages.newest_inbound_at(self._ref.session_id)
        except StorageUnavailable as exc:
            # Nothing is known: look back the first-pairing window and answer nothing.
            logger.warning("session %s: catch-up without the database: %s", self._ref, exc)
            return None

    async def _missing(self, backlog: Backlog) -> list[InboundMessage]:
        """The backlog minus what is stored already (the listener would drop those too, but
        each would cost a spool write)."""
        keys = [m.key_id for m in backlog.messages]
        try:
            known = await self._messages.known_key_ids(self._ref.session_id, keys)
        except StorageUnavailable:
            known = set()
        return [m for m in backlog.messages if m.key_id not in known]
