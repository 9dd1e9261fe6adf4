"""The inbound pipeline of every session: normalise -> dedupe -> store -> opt-out -> rules -> AI.

Each message is spooled to disk first, stored with retries while the database is unavailable,
and only then acted on. The WhatsApp id is unique per session, so a redelivered or replayed
message is stored once and acted on once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.ai_replies import AIReplies, ChatKey
from engine.events import (
    ChatPaused,
    ContactOptedOut,
    EventBus,
    HandoffRequested,
    HotLeadDetected,
    InboundReceived,
    MessageStored,
    SessionRef,
)
from engine.ia.analyzer import Intent, ModelAnalyzer, classify_by_rules
from engine.ia.llm import LLMClient
from engine.ia.rules import parse_rules
from engine.inbox import InboundSpool
from engine.messaging import MessageSender, Outbound
from engine.phones import InvalidPhone, phone_from_wid
from engine.retry import Backoff
from engine.tasks import TaskOwner
from engine.whatsapp.types import InboundMessage
from storage.db import Database, StorageUnavailable
from storage.models import utcnow
from storage.records import (
    AICall,
    AISettings,
    Client,
    Contact,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
)
from storage.repos import AICallRepo, AISettingsRepo, ClientRepo, ContactRepo, MessageRepo

logger = logging.getLogger(__name__)

DEFAULT_OPT_OUT_REPLY = {
    "es": "Listo, no vas a recibir más mensajes nuestros. Si cambiás de idea, escribinos.",
    "en": "Done: you will not receive more messages from us. Write to us if you change your mind.",
}
HANDOFF_PAUSE = timedelta(hours=24)


@dataclass(frozen=True)
class ListenerPolicy:
    """Retry pacing for storage and the typing-delay scale (0 in tests, 1 in production)."""

    storage_backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=0.5, max_s=30.0))
    typing_scale: float = 1.0
    language: str = "es"
    reply_timeout_s: float = 20.0
    classify_timeout_s: float = 5.0


class Listener:
    """Subscribes to `InboundReceived`; one worker processes messages in arrival order."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        sender: MessageSender,
        *,
        llm: LLMClient | None,
        default_model: str,
        spool: InboundSpool,
        policy: ListenerPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._bus = bus
        self._spool = spool
        self._policy = policy or ListenerPolicy()
        self._clock = clock
        self._clients = ClientRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._ai_settings = AISettingsRepo(db)
        self._ai_calls = AICallRepo(db)
        self._llm = llm
        self._default_model = default_model
        self._outbound = Outbound(db, sender, bus)
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._started = False
        self._busy = 0
        self._idle = asyncio.Condition()
        self._tasks = TaskOwner("listener")
        self.ai = AIReplies(
            db,
            bus,
            self._outbound,
            llm,
            default_model,
            self._policy.typing_scale,
            self._policy.reply_timeout_s,
            clock,
            self._tasks,
        )

    async def start(self) -> None:
        for key, entry in self._spool.open():
            self._enqueue(key, entry)
        self._bus.subscribe(InboundReceived, self.on_inbound)
        self._started = True
        self._tasks.spawn("listener:worker", self._work())

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._bus.unsubscribe(InboundReceived, self.on_inbound)
        await self._tasks.shutdown(grace_s=0)
        self._spool.close()

    async def on_inbound(self, event: InboundReceived) -> None:
        """Spool first (crash-safe), then queue for the worker."""
        entry = {
            "session": dataclasses.asdict(event.session),
            "message": dataclasses.asdict(event.message),
        }
        key = f"{event.session.session_id}:{event.message.id}"
        self._busy += 1  # counted from arrival, so run_until_idle waits for the spool write too
        try:
            await self._spool.append(key, entry)
        except BaseException:
            await self._done_one()
            raise
        self._queue.put_nowait((key, entry))

    def _enqueue(self, key: str, entry: dict[str, Any]) -> None:
        self._busy += 1
        self._queue.put_nowait((key, entry))

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
                if not await self.ai.wait_idle():
                    return

    async def _work(self) -> None:
        while True:
            key, entry = await self._queue.get()
            ref = SessionRef(**entry["session"])
            message = InboundMessage(**entry["message"])
            if await self._process_with_retry(ref, message):
                self._spool.done(key)
            await self._done_one()

    async def _process_with_retry(self, ref: SessionRef, message: InboundMessage) -> bool:
        """Process one message, retrying while storage is unavailable. False on a bug: the
        message then stays in the spool and is replayed at the next start."""
        attempt = 0
        while True:
            try:
                await self._process(ref, message)
                return True
            except StorageUnavailable as exc:
                delay_s = self._policy.storage_backoff.delay_s(attempt)
                attempt += 1
                logger.warning(
                    "storing %s failed (%s); retry %d in %.1f s", message.id, exc, attempt, delay_s
                )
                await asyncio.sleep(delay_s)
            except Exception:
                logger.exception("processing inbound %s failed; it stays in the spool", message.id)
                return False

    async def _process(self, ref: SessionRef, message: InboundMessage) -> None:
        client = await self._clients.get_by_id(ref.client_id)
        settings = await self._ai_settings.get(client.id)
        if message.is_group and not settings.groups_enabled:
            logger.debug(
                "ignoring group message %s (groups are off for %s)", message.id, client.slug
            )
            return
        peer = message.chat_id if message.from_me else message.sender_id
        if message.is_group:
            peer = message.chat_id
        phone = _phone_of(peer, client.region)
        contact = await self._contacts.ensure(
            client.id,
            phone,
            name=None if message.from_me or message.is_group else message.notify_name,
            wa_id=peer if peer.endswith("@c.us") else None,
        )
        intent = (
            None
            if message.from_me
            else classify_by_rules(message.body, opt_out_keywords=settings.opt_out_keywords)
        )
        stored = await self._messages.add(
            NewMessage(
                client.id,
                contact.id,
                Direction.OUT if message.from_me else Direction.IN,
                Origin.PHONE if message.from_me else Origin.CONTACT,
                message.body,
                _sent_at(message.timestamp, self._clock()),
                session_id=ref.session_id,
                wa_message_id=message.id,
                type=message.type,
                status=MessageStatus.SENT if message.from_me else MessageStatus.RECEIVED,
                intent=intent.value if intent else None,
            )
        )
        if stored is None:
            logger.debug("message %s of %s seen before; ignored", message.id, ref)
            return
        await self._bus.publish(MessageStored(ref, stored))
        if message.from_me:
            await self._pause(
                ref,
                client.id,
                contact.id,
                timedelta(seconds=settings.pause_s),
                "the business phone wrote",
            )
            return
        if contact.opted_out_at is not None:
            return
        assert intent is not None
        if settings.enabled and intent is not Intent.OPT_OUT and self._llm is not None:
            analysis = await ModelAnalyzer(
                self._llm,
                model=settings.model or self._default_model,
                timeout_s=self._policy.classify_timeout_s,
            ).classify(message.body, opt_out_keywords=settings.opt_out_keywords)
            if analysis.by_model or analysis.tokens_used:
                await self._ai_calls.record(
                    AICall(
                        client.id,
                        contact.id,
                        self._clock(),
                        "classify",
                        settings.model or self._default_model,
                        analysis.by_model,
                        analysis.tokens_used,
                        None if analysis.by_model else "fallback_rules",
                    )
                )
            if analysis.intent is not intent:
                intent = analysis.intent
                await self._messages.set_intent(stored.id, intent.value)
        await self._act(ref, client, settings, contact, message, intent)

    async def _act(
        self,
        ref: SessionRef,
        client: Client,
        settings: AISettings,
        contact: Contact,
        message: InboundMessage,
        intent: Intent,
    ) -> None:
        chat = message.chat_id
        if intent is Intent.OPT_OUT:
            await self._contacts.set_opted_out(contact.id, self._clock())
            self.ai.cancel(ChatKey(ref.session_id, contact.id))
            reply = settings.opt_out_reply or DEFAULT_OPT_OUT_REPLY.get(
                self._policy.language, DEFAULT_OPT_OUT_REPLY["es"]
            )
            await self._outbound.send(
                client_id=client.id,
                session_id=ref.session_id,
                contact_id=contact.id,
                chat_id=chat,
                text=reply,
                origin=Origin.RULE,
            )
            await self._bus.publish(ContactOptedOut(ref, contact.id, contact.phone))
            return
        answer = (
            parse_rules(settings.rule_replies).answer_for(message.body)
            if settings.rule_replies
            else None
        )
        if answer is not None:
            await self._outbound.send(
                client_id=client.id,
                session_id=ref.session_id,
                contact_id=contact.id,
                chat_id=chat,
                text=answer,
                origin=Origin.RULE,
            )
            return
        if intent is Intent.WANTS_HUMAN:
            await self._pause(
                ref, client.id, contact.id, HANDOFF_PAUSE, "the contact asked for a person"
            )
            self.ai.cancel(ChatKey(ref.session_id, contact.id))
            if settings.handoff_reply:
                await self._outbound.send(
                    client_id=client.id,
                    session_id=ref.session_id,
                    contact_id=contact.id,
                    chat_id=chat,
                    text=settings.handoff_reply,
                    origin=Origin.RULE,
                )
            await self._bus.publish(HandoffRequested(ref, contact.id, contact.phone, message.body))
            return
        if intent is Intent.HOT_LEAD:
            await self._bus.publish(HotLeadDetected(ref, contact.id, contact.phone, message.body))
        paused = contact.ai_paused_until is not None and contact.ai_paused_until > self._clock()
        if settings.enabled and not paused and self._llm is not None:
            self.ai.add(
                ChatKey(ref.session_id, contact.id),
                ref,
                client,
                chat,
                message.body,
                settings.debounce_s,
            )

    async def _pause(
        self, ref: SessionRef, client_id: int, contact_id: int, length: timedelta, reason: str
    ) -> None:
        until = self._clock() + length
        await self._contacts.pause_ai(contact_id, until)
        self.ai.cancel(ChatKey(ref.session_id, contact_id))
        await self._bus.publish(ChatPaused(ref, client_id, contact_id, until, reason))


def _phone_of(wid: str, region: str) -> str:
    """E.164 digits of a person's id; ids that are not phones (groups, lids) keep their digits."""
    try:
        return phone_from_wid(wid, region).digits
    except InvalidPhone:
        return wid.split("@", 1)[0][:20]


def _sent_at(timestamp: int, now: datetime) -> datetime:
    """When the message was written. WhatsApp gives whole seconds; when that agrees with our
    clock, our finer clock keeps a burst and our replies to it in their real order."""
    if timestamp <= 0:
        return now
    written = datetime.fromtimestamp(timestamp, UTC)
    return now if timedelta(0) <= now - written < timedelta(seconds=2) else written
