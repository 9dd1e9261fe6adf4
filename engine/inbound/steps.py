"""What the listener does with one inbound message: store it, honour an opt-out, answer by rule,
hand off, and (for clients with AI on) classify it with the model and start an AI turn.

Two stages, so that nothing a contact asks for waits on a model: `store` (the message, its
contact and the rule-based decisions, opt-outs first) and `understand` (the model's intent and
what follows from it), which the listener runs in a lane of its own per chat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.clock import Clock
from engine.events import (
    ChatPaused,
    ContactOptedOut,
    EventBus,
    HandoffRequested,
    HotLeadDetected,
    MessageStored,
    SessionRef,
)
from engine.ia.analyzer import Intent, ModelAnalyzer, classify_by_rules
from engine.ia.llm import LLMClient
from engine.ia.rules import parse_rules
from engine.ia.spending import tokens_left_today
from engine.inbound.ai_turns import AIReplies, ChatKey
from engine.inbound.outbound import Outbound, ReplyTo
from engine.phones import InvalidPhone, phone_from_wid
from engine.whatsapp.types import CONVERSATION_TYPES, InboundMessage
from storage.db import Database
from storage.records import (
    AICall,
    AISettings,
    Client,
    Contact,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
    WaIdentity,
)
from storage.repos import AICallRepo, AISettingsRepo, ClientRepo, ContactRepo, MessageRepo

logger = logging.getLogger(__name__)

DEFAULT_OPT_OUT_REPLY = {
    "es": "Listo, no vas a recibir más mensajes nuestros. Si cambiás de idea, escribinos.",
    "en": "Done: you will not receive more messages from us. Write to us if you change your mind.",
}
HANDOFF_PAUSE = timedelta(hours=24)


@dataclass(frozen=True)
class Stored:
    """A message stored for the first time, with what the model should still look at."""

    ref: SessionRef
    client: Client
    settings: AISettings
    contact_id: int
    message_id: int
    message: InboundMessage
    intent: Intent

    @property
    def reply_to(self) -> ReplyTo:
        """The chat the message came from, where replies to it go."""
        return ReplyTo(self.client.id, self.ref.session_id, self.contact_id, self.message.chat_id)


class InboundSteps:
    """The stages of one message; the listener decides when and in which lane each runs."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        outbound: Outbound,
        ai: AIReplies,
        llm: LLMClient | None,
        default_model: str,
        *,
        language: str,
        classify_timeout_s: float,
        clock: Clock,
    ) -> None:
        self._bus = bus
        self._outbound = outbound
        self._ai = ai
        self._llm = llm
        self._default_model = default_model
        self._language = language
        self._classify_timeout_s = classify_timeout_s
        self._clock = clock
        self._clients = ClientRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._ai_settings = AISettingsRepo(db)
        self._ai_calls = AICallRepo(db)

    async def store(self, ref: SessionRef, message: InboundMessage) -> Stored | None:
        """Store the message and act on what rules decide; the returned `Stored` still needs
        the model (`understand`), None when nothing more is to be done. Safe to repeat: a
        message seen before is neither stored nor acted on again."""
        if message.type not in CONVERSATION_TYPES:
            # The page drops these already; a notification must never reach the AI.
            logger.debug("ignoring %s message %s of %s", message.type, message.id, ref)
            return None
        client = await self._clients.get_by_id(ref.client_id)
        settings = await self._ai_settings.get(client.id)
        if message.is_group and not settings.groups_enabled:
            logger.debug("ignoring group message %s (groups are off for %s)", message.id, ref)
            return None
        contact = await self._contacts.resolve(
            client.id,
            identity_of(message, client.region),
            name=None if message.from_me or message.is_group else message.notify_name,
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
                _sent_at(message.timestamp, self._clock.now()),
                session_id=ref.session_id,
                wa_message_id=message.id,
                type=message.type,
                status=MessageStatus.SENT if message.from_me else MessageStatus.RECEIVED,
                intent=intent.value if intent else None,
            )
        )
        if stored is None:
            logger.debug("message %s of %s seen before; ignored", message.id, ref)
            return None
        await self._bus.publish(MessageStored(ref, stored))
        if message.from_me:
            pause = timedelta(seconds=settings.pause_s)
            await self._pause(ref, client.id, contact.id, pause, "the business phone wrote")
            return None
        if contact.opted_out_at is not None:
            return None
        assert intent is not None
        later = Stored(ref, client, settings, contact.id, stored.id, message, intent)
        if not message.may_answer:
            # Caught up from the page long after it was written (engine/session/catch_up.py): an
            # opt-out still counts, but nothing is sent back.
            if intent is Intent.OPT_OUT:
                await self._opt_out(later, contact, reply=False)
            return None
        if intent is Intent.OPT_OUT or not self._wants_model(settings, message):
            await self._act(later, contact)
            return None
        return later

    async def understand(self, stored: Stored) -> None:
        """Ask the model what the message means, then act on it (unless the contact opted out
        or was paused meanwhile: the opt-out never waited for this)."""
        settings, intent = stored.settings, stored.intent
        model = settings.model or self._default_model
        assert self._llm is not None
        analysis = await ModelAnalyzer(
            self._llm, model=model, timeout_s=self._classify_timeout_s
        ).classify(
            stored.message.body,
            opt_out_keywords=settings.opt_out_keywords,
            tokens_left=await tokens_left_today(
                self._ai_calls, stored.client, settings.daily_token_budget, self._clock.now()
            ),
        )
        if analysis.by_model or analysis.tokens_used:
            await self._ai_calls.record(
                AICall(
                    stored.client.id,
                    stored.contact_id,
                    self._clock.now(),
                    "classify",
                    model,
                    analysis.by_model,
                    analysis.tokens_used,
                    None if analysis.by_model else "fallback_rules",
                )
            )
        if analysis.intent is not intent:
            intent = analysis.intent
            await self._messages.set_intent(stored.message_id, intent.value)
        contact = await self._contacts.get_by_id(stored.contact_id)
        if contact.opted_out_at is not None:
            return
        await self._act(Stored(**{**stored.__dict__, "intent": intent}), contact)

    def _wants_model(self, settings: AISettings, message: InboundMessage) -> bool:
        return settings.enabled and self._llm is not None and bool(message.body.strip())

    async def _act(self, stored: Stored, contact: Contact) -> None:
        ref, client, settings, message = stored.ref, stored.client, stored.settings, stored.message
        chat, to = ChatKey(ref.session_id, contact.id), stored.reply_to
        if stored.intent is Intent.OPT_OUT:
            await self._opt_out(stored, contact, reply=True)
            return
        rules = parse_rules(settings.rule_replies) if settings.rule_replies else None
        answer = rules.answer_for(message.body) if rules is not None else None
        if answer is not None:
            await self._outbound.reply(to, answer, Origin.RULE)
            return
        if stored.intent is Intent.WANTS_HUMAN:
            await self._pause(
                ref, client.id, contact.id, HANDOFF_PAUSE, "the contact asked for a person"
            )
            if settings.handoff_reply:
                await self._outbound.reply(to, settings.handoff_reply, Origin.RULE)
            await self._bus.publish(
                HandoffRequested(ref, contact.id, contact.phone, message.body, contact.lid)
            )
            return
        if stored.intent is Intent.HOT_LEAD:
            await self._bus.publish(
                HotLeadDetected(ref, contact.id, contact.phone, message.body, contact.lid)
            )
        paused = contact.ai_paused_until is not None and contact.ai_paused_until > self._clock.now()
        if settings.enabled and not paused and self._llm is not None:
            self._ai.add(chat, ref, client, to, model_text(message), settings.debounce_s)

    async def _opt_out(self, stored: Stored, contact: Contact, *, reply: bool) -> None:
        ref = stored.ref
        await self._contacts.set_opted_out(contact.id, self._clock.now())
        self._ai.cancel(ChatKey(ref.session_id, contact.id))
        if reply:
            default = DEFAULT_OPT_OUT_REPLY.get(self._language, DEFAULT_OPT_OUT_REPLY["es"])
            text = stored.settings.opt_out_reply or default
            await self._outbound.reply(stored.reply_to, text, Origin.RULE)
        await self._bus.publish(ContactOptedOut(ref, contact.id, contact.phone, contact.lid))

    async def _pause(
        self, ref: SessionRef, client_id: int, contact_id: int, length: timedelta, reason: str
    ) -> None:
        until = self._clock.now() + length
        await self._contacts.pause_ai(contact_id, until)
        self._ai.cancel(ChatKey(ref.session_id, contact_id))
        await self._bus.publish(ChatPaused(ref, client_id, contact_id, until, reason))


def identity_of(message: InboundMessage, region: str) -> WaIdentity:
    """Who wrote, by phone and LID as far as WhatsApp told (``getPnLidEntry`` in the page).

    A group is its own "contact" keyed by the group id's digits, as groups have no phone.
    """
    if message.is_group:
        return WaIdentity(phone=message.chat_id.split("@", 1)[0][:20])
    chat = message.chat_id
    phone_wid = message.peer_phone or (chat if chat.endswith("@c.us") else None)
    lid = message.peer_lid or (chat if chat.endswith("@lid") else None)
    phone = None
    if phone_wid is not None:
        try:
            phone = phone_from_wid(phone_wid, region).digits
        except InvalidPhone:
            phone = phone_wid.split("@", 1)[0][:20]
    if phone is None and lid is None:
        phone = chat.split("@", 1)[0][:20]
    return WaIdentity(phone=phone, wa_id=phone_wid if phone else None, lid=lid)


def model_text(message: InboundMessage) -> str:
    """What the model reads of a message: its text, or which kind of media came without one
    (a thumbnail is never text)."""
    if message.body.strip() or not message.is_media:
        return message.body
    return f"[the contact sent a {_MEDIA_NAMES.get(message.type, message.type)} without text]"


_MEDIA_NAMES = {"ptt": "voice note", "audio": "audio", "image": "photo", "sticker": "sticker"}


def _sent_at(timestamp: int, now: datetime) -> datetime:
    """When the message was written. WhatsApp gives whole seconds; when that agrees with our
    clock, our finer clock keeps a burst and our replies to it in their real order."""
    if timestamp <= 0:
        return now
    written = datetime.fromtimestamp(timestamp, UTC)
    return now if timedelta(0) <= now - written < timedelta(seconds=2) else written
