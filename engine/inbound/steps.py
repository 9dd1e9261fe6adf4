"""What the listener does with one inbound message: store it, honour an opt-out, answer by rule,
hand off, and (for clients with AI on) classify it with the model and start an AI turn.

Two stages, so that nothing a contact asks for waits on a model: `store` (the message, its
contact and the rule-based decisions, opt-outs first) and `understand` (the model's intent and
what follows from it), which the listener runs in a lane of its own per chat.

Media (when a `MediaIntake` is given): the message is stored with its media fields first; its
file is downloaded at the start of `understand`, so a slow download holds only that chat's
model lane, never the storing of later messages. A voice note's rules wait for its transcript
("BAJA" said aloud opts out): its decisions move from `store` to `understand`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal

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
from engine.ia.prompts import media_text
from engine.ia.rules import parse_rules
from engine.ia.spending import day_start, tokens_left_today
from engine.inbound.ai_turns import AIReplies, ChatKey
from engine.inbound.media import AUDIO_KINDS, MediaIntake, media_info
from engine.inbound.outbound import Outbound, ReplyTo
from engine.phones import InvalidPhone, phone_from_wid
from engine.whatsapp.types import CONVERSATION_TYPES, InboundMessage
from storage.config import ConfigSnapshot
from storage.db import Database, NotFound
from storage.records import (
    AICall,
    AISettings,
    Client,
    Contact,
    Direction,
    MediaInfo,
    MediaState,
    Message,
    MessageStatus,
    NewMessage,
    Origin,
    WaIdentity,
)
from storage.repos import (
    AICallRepo,
    ContactRepo,
    InboundRepo,
    MessageRepo,
)
from storage.repos.contacts import Wanted
from storage.repos.inbound import InboundWrite
from storage.texts import phrase

logger = logging.getLogger(__name__)

DEFAULT_OPT_OUT_REPLY = {
    "es": "Listo, no vas a recibir más mensajes nuestros. Si cambiás de idea, escribinos.",
    "en": "Done: you will not receive more messages from us. Write to us if you change your mind.",
}
HANDOFF_PAUSE = timedelta(hours=24)

# What `understand` still has to do once the file (if any) is in: ask the model ("model"), take
# the rule-based decisions first (a voice note, whose words were unknown at `store`: "decide"),
# or nothing more ("done": a file sent from the business phone, an opted-out contact).
Stage = Literal["model", "decide", "done"]


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
    media_pending: bool = False
    stage: Stage = "model"
    transcript: str | None = None
    tokens_today: int | None = None
    """What the client spent today as of the message's store, for the classifier's budget;
    None to read it again (a file was fetched since, perhaps transcribed at a cost)."""

    @property
    def text(self) -> str:
        """What rules and the model read: the transcript of a voice note, else the body."""
        return self.transcript if self.transcript is not None else self.message.body

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
        media: MediaIntake | None = None,
    ) -> None:
        self._bus = bus
        self._media = media
        self._outbound = outbound
        self._ai = ai
        self._llm = llm
        self._default_model = default_model
        self._language = language
        self._classify_timeout_s = classify_timeout_s
        self._clock = clock
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._inbound = InboundRepo(db)
        self._ai_calls = AICallRepo(db)

    async def store(self, ref: SessionRef, message: InboundMessage) -> Stored | None:
        """Store the message and act on what rules decide; the returned `Stored` still needs
        the model (`understand`), None when nothing more is to be done. Safe to repeat: a
        message seen before is neither stored nor acted on again."""
        if message.type not in CONVERSATION_TYPES:
            # The page drops these already; a notification must never reach the AI.
            logger.debug("ignoring %s message %s of %s", message.type, message.id, ref)
            return None
        # Read before the transaction, which may wait for another chat's to commit: messages
        # of different chats keep the order they were taken up in.
        sent_at = _sent_at(message.timestamp, self._clock.now())
        written = await self._inbound.store(partial(self._plan, ref, message, sent_at))
        if isinstance(written, str):
            logger.debug("%s message %s of %s: %s", message.type, message.id, ref, written)
            return None
        await self._bus.publish(MessageStored(ref, written.message))
        client = _client_of(written.config, ref)
        settings = written.config.settings_of(client.id)
        contact, media = written.contact, written.message.media
        pending = media is not None and media.state is MediaState.PENDING
        deferred = _deferred(message, media)
        intent = written.message.intent
        later = Stored(
            ref,
            client,
            settings,
            contact.id,
            written.message.id,
            message,
            Intent(intent) if intent else Intent.OTHER,
            media_pending=pending,
            stage="decide" if deferred else "model",
            tokens_today=written.tokens_today,
        )
        if message.from_me:
            pause = timedelta(seconds=settings.pause_s)
            await self._pause(ref, client.id, contact.id, pause, "the business phone wrote")
            return dataclasses.replace(later, stage="done") if pending else None
        if deferred:
            # An opted-out contact's voice note is kept, but not transcribed (no tokens on it).
            return (
                later if contact.opted_out_at is None else dataclasses.replace(later, stage="done")
            )
        after = await self._decide(later, contact)
        if after is None and pending:
            return dataclasses.replace(later, stage="done")
        return after

    def _plan(
        self, ref: SessionRef, message: InboundMessage, sent_at: datetime, config: ConfigSnapshot
    ) -> InboundWrite | str:
        """What storing the message writes, decided from the clients and AI settings valid in
        the transaction that stores it: its contact and the message with the rules' intent. A
        reason (a str) instead when nothing is to be stored: a group with groups off."""
        client = _client_of(config, ref)
        settings = config.settings_of(client.id)
        if message.is_group and not settings.groups_enabled:
            return "ignored (groups are off)"
        media = self._media_info(message)
        intent = (
            None
            if message.from_me or _deferred(message, media)
            else classify_by_rules(message.body, opt_out_keywords=settings.opt_out_keywords)
        )
        return InboundWrite(
            Wanted(
                client.id,
                identity_of(message, client.region),
                None if message.from_me or message.is_group else message.notify_name,
            ),
            NewMessage(
                client.id,
                0,  # the contact's, once the batch has found or created it
                Direction.OUT if message.from_me else Direction.IN,
                Origin.PHONE if message.from_me else Origin.CONTACT,
                message.body,
                sent_at,
                session_id=ref.session_id,
                wa_message_id=message.id,
                type=message.type,
                status=MessageStatus.SENT if message.from_me else MessageStatus.RECEIVED,
                intent=intent.value if intent else None,
                media=media,
            ),
            tokens_since=(
                day_start(client, self._clock.now())
                if settings.enabled and self._llm is not None and not message.from_me
                else None
            ),
        )

    async def _decide(self, later: Stored, contact: Contact) -> Stored | None:
        """The rule-based decisions on a stored message; the `Stored` the model should still
        see, or None when the rules settled it."""
        message, intent = later.message, later.intent
        if contact.opted_out_at is not None:
            return None
        if not message.may_answer:
            # Caught up from the page long after it was written (engine/session/catch_up.py): an
            # opt-out still counts, but nothing is sent back.
            if intent is Intent.OPT_OUT:
                await self._opt_out(later, contact, reply=False)
            return None
        if intent is Intent.OPT_OUT or not self._wants_model(later.settings, later.text, message):
            await self._act(later, contact)
            return None
        return later

    async def _take_media(self, stored: Stored) -> Stored:
        """Download and store the file; a voice note's transcript comes back in `transcript`
        and its rules run now (the stage moves on from "decide" to the model or "done")."""
        assert self._media is not None
        taken = await self._media.take(stored.ref.session_id, stored.message_id, stored.message)
        stored = dataclasses.replace(stored, media_pending=False, tokens_today=None)
        if taken.before:
            return dataclasses.replace(stored, stage="done")  # another pass took care of it
        if stored.stage != "decide":
            return stored
        if taken.state is MediaState.PENDING:
            # The session dropped: the note is fetched, and its rules run, once it is back
            # (`stranded`); its intent stays unset until then.
            return dataclasses.replace(stored, stage="done")
        transcript = None
        if taken.data is not None:
            transcript = await self._media.transcript(
                stored.client.id, stored.contact_id, stored.message_id, stored.message, taken.data
            )
        text = transcript if transcript is not None else stored.message.body
        intent = classify_by_rules(text, opt_out_keywords=stored.settings.opt_out_keywords)
        await self._messages.set_intent(stored.message_id, intent.value)
        stored = dataclasses.replace(stored, transcript=transcript, intent=intent)
        contact = await self._contacts.get_by_id(stored.contact_id)
        after = await self._decide(stored, contact)
        return dataclasses.replace(after or stored, stage="model" if after else "done")

    async def stranded(self, ref: SessionRef) -> list[Stored]:
        """The session's media messages whose file is still `pending` while nothing fetches
        it: an earlier run stopped between storing the row and the download, or the session
        dropped during it. The `Stored` that fetches each now, for `understand` (the caller
        leaves out those it has under way).

        Like a message caught up late (`may_answer` false), nothing is sent back: a voice
        note whose rules never ran gets them on its transcript now, so "BAJA" said in it still
        opts out, but no model is asked and no rule answers. Any other file is only fetched:
        its rules ran when it was stored.
        """
        if self._media is None:
            return []
        rows = await self._messages.stranded_media(ref.session_id)
        if not rows:
            return []
        config = await self._inbound.config()
        client = _client_of(config, ref)
        settings = config.settings_of(client.id)
        found = []
        for row in rows:
            if row.media is None or row.wa_message_id is None:
                continue
            contact = await self._contacts.get_by_id(row.contact_id)
            inbound = row.direction is Direction.IN
            # The rules of a voice note wait for its transcript, and its intent stays unset
            # until they run (`store`): unset, they never did.
            undecided = row.media.kind in AUDIO_KINDS and inbound and row.intent is None
            decide = undecided and contact.opted_out_at is None
            found.append(
                Stored(
                    ref,
                    client,
                    settings,
                    contact.id,
                    row.id,
                    _message_of(row, row.media, row.wa_message_id, contact),
                    Intent.OTHER,
                    media_pending=True,
                    stage="decide" if decide else "done",
                )
            )
        return found

    def _media_info(self, message: InboundMessage) -> MediaInfo | None:
        """The media fields of the row; without a media intake (no store in this process) the
        file is never asked for, and the row says so with the state `none`."""
        if not message.is_media:
            return None
        if self._media is not None:
            return self._media.info(message)
        return media_info(message, MediaState.NONE)

    async def understand(self, stored: Stored) -> None:
        """Ask the model what the message means, then act on it (unless the contact opted out
        or was paused meanwhile: the opt-out never waited for this). A media message's file
        comes first (and a voice note's rule-based decisions, on its transcript)."""
        if stored.media_pending:
            stored = await self._take_media(stored)
        if stored.stage == "done":
            return
        settings, intent = stored.settings, stored.intent
        model = settings.model or self._default_model
        assert self._llm is not None
        analysis = await ModelAnalyzer(
            self._llm, model=model, timeout_s=self._classify_timeout_s
        ).classify(
            stored.text,
            opt_out_keywords=settings.opt_out_keywords,
            tokens_left=await self._tokens_left(stored),
        )
        call = None
        if analysis.by_model or analysis.tokens_used:
            call = AICall(
                stored.client.id,
                stored.contact_id,
                self._clock.now(),
                "classify",
                model,
                analysis.by_model,
                analysis.tokens_used,
                None if analysis.by_model else "fallback_rules",
            )
        changed = analysis.intent is not intent
        intent = analysis.intent
        contact = await self._inbound.classified(
            stored.message_id,
            stored.contact_id,
            call=call,
            intent=intent.value if changed else None,
        )
        if contact.opted_out_at is not None:
            return
        await self._act(Stored(**{**stored.__dict__, "intent": intent}), contact)

    async def _tokens_left(self, stored: Stored) -> int:
        """The classifier's budget: from the store's read when it has one (messages stored
        together may each spend before the next is classified, so the day can overrun by
        one batch's classifications, a few hundred tokens), else read now."""
        budget = stored.settings.daily_token_budget
        if stored.tokens_today is not None:
            return max(0, budget - stored.tokens_today)
        return await tokens_left_today(self._ai_calls, stored.client, budget, self._clock.now())

    def _wants_model(self, settings: AISettings, text: str, message: InboundMessage) -> bool:
        """Whether the model's stage should see the message. A file without a caption goes
        there too: the AI turn starts after the download, so the model gets the image itself
        (or the transcript), not a placeholder written before the file was in."""
        has_words = bool(text.strip()) or message.is_media
        return settings.enabled and self._llm is not None and has_words

    async def _act(self, stored: Stored, contact: Contact) -> None:
        ref, client, settings, message = stored.ref, stored.client, stored.settings, stored.message
        chat, to = ChatKey(ref.session_id, contact.id), stored.reply_to
        if stored.intent is Intent.OPT_OUT:
            await self._opt_out(stored, contact, reply=True)
            return
        rules = parse_rules(settings.rule_replies) if settings.rule_replies else None
        answer = rules.answer_for(stored.text) if rules is not None else None
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
                HandoffRequested(ref, contact.id, contact.phone, stored.text, contact.lid)
            )
            return
        if stored.intent is Intent.HOT_LEAD:
            await self._bus.publish(
                HotLeadDetected(ref, contact.id, contact.phone, stored.text, contact.lid)
            )
        paused = contact.ai_paused_until is not None and contact.ai_paused_until > self._clock.now()
        if settings.enabled and not paused and self._llm is not None:
            self._ai.add(
                chat, ref, client, to, model_text(message, stored.transcript), settings.debounce_s
            )

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


def model_text(message: InboundMessage, transcript: str | None = None) -> str:
    """What the model reads of a message: its text, or for media the marker the prompts use
    for stored media (`engine.ia.prompts.media_text`: a voice note's transcript, an image's
    caption, a document's name), so the burst matches its stored message. A thumbnail is
    never text."""
    if not message.is_media:
        return message.body
    return media_text(
        message.type,
        caption=message.body,
        transcript=transcript,
        filename=message.filename,
        size_bytes=message.size_bytes,
        duration_s=message.duration_s,
    )


def _client_of(config: ConfigSnapshot, ref: SessionRef) -> Client:
    """The session's client as the snapshot has it (NotFound, as `ClientRepo` says it)."""
    client = config.client(ref.client_id)
    if client is None:
        raise NotFound(phrase("record.no_client_id", id=ref.client_id))
    return client


def _message_of(row: Message, media: MediaInfo, wa_id: str, contact: Contact) -> InboundMessage:
    """A stored media message as the page would hand it over again, for a resumed download;
    never answered (`may_answer` false), so its chat is only named."""
    chat = contact.wa_id or contact.lid or f"{contact.phone}@c.us"
    return InboundMessage(
        id=wa_id,
        chat_id=chat,
        sender_id=chat,
        from_me=row.direction is Direction.OUT,
        body=row.body,
        type=media.kind,
        timestamp=int(row.sent_at.timestamp()),
        notify_name=None,
        is_group=False,
        quoted_id=None,
        mimetype=media.mimetype,
        filename=media.filename,
        size_bytes=media.size_bytes,
        duration_s=media.duration_s,
        may_answer=False,
    )


def _deferred(message: InboundMessage, media: MediaInfo | None) -> bool:
    """A voice note's words are known only after its transcript: its rules wait for it."""
    pending = media is not None and media.state is MediaState.PENDING
    return pending and message.type in AUDIO_KINDS and not message.from_me


def _sent_at(timestamp: int, now: datetime) -> datetime:
    """When the message was written. WhatsApp gives whole seconds; when that agrees with our
    clock, our finer clock keeps a burst and our replies to it in their real order."""
    if timestamp <= 0:
        return now
    written = datetime.fromtimestamp(timestamp, UTC)
    return now if timedelta(0) <= now - written < timedelta(seconds=2) else written
