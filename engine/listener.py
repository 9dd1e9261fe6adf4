"""The inbound pipeline of every session: normalise -> spool -> store -> opt-out -> rules -> AI.

Each message is spooled to disk first, stored with retries while the database is unavailable,
and only then acted on (engine/inbound/steps.py). Messages of one chat keep their order; chats
are independent lanes, so a busy chat or one client's slow model holds up no other chat, and
the model's part runs in a lane of its own so an opt-out never waits for it. The WhatsApp id
is unique per session, so a redelivered or replayed message is stored once and acted on once.
If the spool cannot be written (a full disk), the message is processed from memory and
operators are told; it is never dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from engine.events import (
    ContactForgotten,
    EventBus,
    InboundReceived,
    InboundSpoolFailed,
    SessionRef,
    SessionStateChanged,
)
from engine.inbound.ai_turns import AIReplies
from engine.inbound.lanes import Lanes
from engine.inbound.spool import InboundSpool
from engine.inbound.steps import InboundSteps, Stored
from engine.retry import Backoff
from engine.tasks import TaskOwner
from engine.whatsapp.types import InboundMessage
from storage.db import StorageError, StorageUnavailable
from storage.records import SessionState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerPolicy:
    """Retry pacing for storage and the typing-delay scale (0 in tests, 1 in production).

    `typing_scale` and `reply_timeout_s` are for the `AIReplies`, `language` and
    `classify_timeout_s` for the `InboundSteps` handed to the listener: whoever builds them (the
    composition root) reads them here."""

    storage_backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=0.5, max_s=30.0))
    typing_scale: float = 1.0
    language: str = "es"
    reply_timeout_s: float = 20.0
    classify_timeout_s: float = 5.0


class Listener:
    """Subscribes to `InboundReceived`; one lane per chat stores and acts in arrival order.

    `steps` store and act on each message; `ai` (the AI turns the steps hand replies to, on the
    same `Outbound`) is stopped with the listener."""

    def __init__(
        self,
        bus: EventBus,
        steps: InboundSteps,
        ai: AIReplies,
        *,
        spool: InboundSpool,
        policy: ListenerPolicy | None = None,
    ) -> None:
        self._bus = bus
        self._spool = spool
        self._policy = policy or ListenerPolicy()
        self._started = False
        self._busy = 0
        self._idle = asyncio.Condition()
        self._spool_broken = False
        self._tasks = TaskOwner("listener")
        self._chats = Lanes(self._tasks, "inbound")
        self._models = Lanes(self._tasks, "inbound-model")
        self.ai = ai  # the AI turns are the listener's: they stop with its lanes
        self._steps = steps
        self._fetching: set[int] = set()  # media messages queued or under way in a model lane

    async def start(self) -> None:
        for key, entry in self._spool.open():
            self._busy += 1
            ref = SessionRef(**entry["session"])
            self._submit(key, ref, InboundMessage(**entry["message"]), spooled=True)
        self._bus.subscribe(InboundReceived, self.on_inbound)
        self._bus.subscribe(ContactForgotten, self.on_forgotten)
        self._bus.subscribe(SessionStateChanged, self.on_state)
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._bus.unsubscribe(InboundReceived, self.on_inbound)
        self._bus.unsubscribe(ContactForgotten, self.on_forgotten)
        self._bus.unsubscribe(SessionStateChanged, self.on_state)
        await self._tasks.shutdown(grace_s=0)
        self._fetching.clear()  # what was queued is gone with the lanes: pending again
        await self.ai.stop()
        self._spool.close()

    async def on_inbound(self, event: InboundReceived) -> None:
        """Spool first (crash-safe), then hand the message to its chat's lane."""
        message = _cleaned(event.message)
        entry = {
            "session": dataclasses.asdict(event.session),
            "message": dataclasses.asdict(message),
        }
        key = f"{event.session.session_id}:{message.id}"
        self._busy += 1  # counted from arrival, so run_until_idle waits for the spool write too
        spooled = True
        try:
            await self._spool.append(key, entry)
            self._spool_broken = False
        except (OSError, ValueError) as exc:
            spooled = False
            await self._spool_failed(message, exc)
        except BaseException:
            await self._done_one()
            raise
        self._submit(key, event.session, message, spooled=spooled)

    async def on_forgotten(self, event: ContactForgotten) -> None:
        """A forgotten contact's bodies must not linger in the spool: keep only what is open."""
        await asyncio.to_thread(self._spool.compact)

    async def on_state(self, event: SessionStateChanged) -> None:
        """Once a session is connected, fetch the files still `pending` that nothing fetches:
        stored by an earlier run that stopped before the download, or left when the session
        dropped during it. Each goes to its chat's model lane like a new message."""
        if event.new is not SessionState.CONNECTED:
            return
        busy = set(self._fetching)  # what finishes during the read was listed busy first
        try:
            stranded = await self._steps.stranded(event.session)
        except StorageError as exc:
            logger.warning(
                "pending files of %s wait for its next connection: %s", event.session, exc
            )
            return
        busy |= self._fetching
        for stored in stranded:
            if stored.message_id not in busy:
                logger.info("fetching the file of %s, left pending", stored.message.id)
                self._submit_model(stored)

    def _submit_model(self, stored: Stored) -> None:
        lane = (stored.ref.session_id, stored.message.chat_id)
        if stored.media_pending:
            self._fetching.add(stored.message_id)
        self._models.submit(lane, partial(self._understand, stored))

    async def _spool_failed(self, message: InboundMessage, exc: Exception) -> None:
        """Go on from memory (a crash now would lose the message) and tell operators once."""
        logger.error("could not spool %s (%s); processing it from memory", message.id, exc)
        if not self._spool_broken:
            self._spool_broken = True
            await self._bus.publish(InboundSpoolFailed(str(self._spool.path), str(exc)))

    def _submit(self, key: str, ref: SessionRef, message: InboundMessage, *, spooled: bool) -> None:
        lane = (ref.session_id, message.chat_id)
        self._chats.submit(lane, partial(self._handle, key, ref, message, spooled))

    async def _handle(
        self, key: str, ref: SessionRef, message: InboundMessage, spooled: bool
    ) -> None:
        try:
            done, stored = await self._store_with_retry(ref, message)
            if done and spooled:
                try:
                    self._spool.done(key)
                except OSError as exc:
                    # The message is stored; a lost done mark only means a harmless replay.
                    logger.warning("could not mark %s done in the spool: %s", message.id, exc)
            if stored is not None:
                self._submit_model(stored)
        finally:
            await self._done_one()

    async def _store_with_retry(
        self, ref: SessionRef, message: InboundMessage
    ) -> tuple[bool, Stored | None]:
        """Store one message, retrying while storage is unavailable; (done, what the model
        should still see). Not done on a bug: the message then stays in the spool and is
        replayed at the next start."""
        attempt = 0
        while True:
            try:
                return True, await self._steps.store(ref, message)
            except StorageUnavailable as exc:
                delay_s = self._policy.storage_backoff.delay_s(attempt)
                attempt += 1
                logger.warning(
                    "storing %s failed (%s); retry %d in %.1f s", message.id, exc, attempt, delay_s
                )
                await asyncio.sleep(delay_s)
            except Exception:
                logger.exception("processing inbound %s failed; it stays in the spool", message.id)
                return False, None

    async def _understand(self, stored: Stored) -> None:
        """The model's part runs once: the message is stored, so a failure here is not retried
        (a retry could send a rule or AI answer twice)."""
        try:
            await self._steps.understand(stored)
        except StorageUnavailable as exc:
            logger.warning("acting on %s skipped: %s", stored.message.id, exc)
        finally:
            self._fetching.discard(stored.message_id)

    async def _done_one(self) -> None:
        async with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    async def run_until_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued message is processed and every AI turn has finished."""
        async with asyncio.timeout(timeout_s):
            while True:
                async with self._idle:
                    await self._idle.wait_for(lambda: self._busy == 0)
                if self._models.busy:
                    await self._models.wait_idle()
                elif not await self.ai.wait_idle() and self._busy == 0 and not self._models.busy:
                    return


def clean_text(text: str) -> str:
    """Any string WhatsApp can send, made storable: JavaScript strings may hold a lone UTF-16
    surrogate, which no UTF-8 database or file accepts; it becomes U+FFFD, pairs are kept."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _cleaned(message: InboundMessage) -> InboundMessage:
    changes: dict[str, Any] = {}
    for name in ("body", "notify_name", "filename"):
        value = getattr(message, name)
        if isinstance(value, str) and (fixed := clean_text(value)) != value:
            changes[name] = fixed
    return dataclasses.replace(message, **changes) if changes else message
