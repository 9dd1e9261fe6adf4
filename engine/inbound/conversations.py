"""Services the chat commands call for conversations and AI: read, reply (with text or a file),
fetch a chat's files, take over, release, forget, and switch or shape a client's AI."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from engine.clock import Clock, SystemClock
from engine.errors import InvalidInput
from engine.events import ChatPaused, ContactForgotten, EventBus
from engine.inbound.outbound import Outbound, ReplyTo
from engine.media import check_outgoing, kind_for, normalise_mimetype
from engine.media_store import MediaMissing, MediaStore
from engine.media_sweep import forget_media
from engine.phones import InvalidPhone, parse_phone
from engine.senders import MessageSender
from engine.whatsapp.types import OutgoingMedia
from storage.db import Database
from storage.records import (
    AISettings,
    Client,
    Contact,
    ConversationSummary,
    MediaState,
    Message,
    MessageStatus,
    Origin,
    SessionState,
)
from storage.repos import (
    AICallRepo,
    AISettingsRepo,
    ClientRepo,
    ContactRepo,
    MessageRepo,
    SessionRepo,
)

logger = logging.getLogger(__name__)

ChatFilter = Literal["recent", "unanswered", "hot"]
TAKEOVER = timedelta(hours=24)


@dataclass(frozen=True)
class AIStatus:
    settings: AISettings
    tokens_today: int
    failures_today: int


class Conversations:
    """Conversation look-ups and operator actions on one chat."""

    def __init__(
        self,
        db: Database,
        sender: MessageSender,
        bus: EventBus,
        clock: Clock | None = None,
        media: MediaStore | None = None,
        media_timeout_s: float = 120.0,
    ) -> None:
        self._media = media
        self._media_timeout_s = media_timeout_s
        self._clients = ClientRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._sessions = SessionRepo(db)
        self._outbound = Outbound(db, sender, bus)
        self._bus = bus
        self._clock = clock or SystemClock()

    async def contact(self, client_slug: str, phone: str) -> tuple[Client, Contact]:
        client = await self._clients.get(client_slug)
        return client, await lookup_contact(self._contacts, client, phone)

    async def read(
        self, client_slug: str, phone: str, limit: int = 20
    ) -> tuple[Contact, list[Message]]:
        """The last `limit` messages of a chat, oldest first (as a chat reads)."""
        _client, contact = await self.contact(client_slug, phone)
        return contact, list(reversed(await self._messages.conversation(contact.id, limit)))

    async def chats(
        self, client_slug: str, kind: ChatFilter = "recent", limit: int = 20
    ) -> list[ConversationSummary]:
        client = await self._clients.get(client_slug)
        if kind == "unanswered":
            return await self._messages.recent_conversations(client.id, limit, unanswered=True)
        if kind == "hot":
            return await self._messages.recent_conversations(client.id, limit, intent="hot_lead")
        return await self._messages.recent_conversations(client.id, limit)

    async def reply(self, client_slug: str, phone: str, text: str) -> Message:
        """Send an operator's message from the client's number; AI is paused in that chat."""
        if not text.strip():
            raise InvalidInput("outgoing.empty")
        client, contact = await self.contact(client_slug, phone)
        session_id = await self._session_for(client, contact)
        await self.take_over(client_slug, phone)
        to = ReplyTo(client.id, session_id, contact.id, contact.chat_id)
        return _taken(await self._outbound.reply(to, text, Origin.OPERATOR))

    async def reply_media(
        self,
        client_slug: str,
        phone: str,
        data: bytes,
        filename: str | None,
        mimetype: str,
        text: str = "",
    ) -> Message:
        """Send an operator's file (an image, video or document, with `text` as its caption)
        from the client's number; WhatsApp's limits are checked first (`MediaRejected` says
        what is wrong), the file is kept in the media store, AI is paused in that chat."""
        mimetype = normalise_mimetype(mimetype, filename)
        kind = kind_for(mimetype, filename)
        check_outgoing(kind, mimetype, len(data))
        if self._media is None:
            raise InvalidInput("attach.no_store")
        client, contact = await self.contact(client_slug, phone)
        session_id = await self._session_for(client, contact)
        put = await self._media.put(data, max_bytes=len(data))
        await self.take_over(client_slug, phone)
        to = ReplyTo(client.id, session_id, contact.id, contact.chat_id)
        file = OutgoingMedia(kind, mimetype, filename, data, put.sha256)
        message = await self._outbound.reply_media(
            to, file, text.strip(), Origin.OPERATOR, timeout_s=self._media_timeout_s
        )
        return _taken(message)

    async def media_of(
        self, client_slug: str, phone: str, count: int = 1
    ) -> list[tuple[Message, bytes | None]]:
        """The chat's newest `count` messages with a file, newest first, each with its bytes
        (None when the file was never kept: failed, too large, expired, or gone)."""
        client, contact = await self.contact(client_slug, phone)
        found = await self._messages.media_messages(client.id, contact.id, limit=max(1, count))
        return [(message, await self._bytes_of(message)) for message in found]

    async def _bytes_of(self, message: Message) -> bytes | None:
        media = message.media
        if self._media is None or media is None or media.sha256 is None:
            return None
        if media.state is not MediaState.STORED:
            return None
        try:
            return await self._media.read(media.sha256)
        except MediaMissing:
            return None

    async def take_over(
        self, client_slug: str, phone: str, length: timedelta = TAKEOVER
    ) -> datetime:
        """Silence AI in this chat while an operator handles it."""
        client, contact = await self.contact(client_slug, phone)
        until = self._clock.now() + length
        await self._contacts.pause_ai(contact.id, until)
        await self._bus.publish(
            ChatPaused(None, client.id, contact.id, until, "an operator took over")
        )
        return until

    async def release(self, client_slug: str, phone: str) -> None:
        """Give the chat back to AI."""
        client, contact = await self.contact(client_slug, phone)
        await self._contacts.pause_ai(contact.id, None)
        await self._bus.publish(ChatPaused(None, client.id, contact.id, None, "released"))

    async def forget(self, client_slug: str, phone: str) -> None:
        """Delete the contact, its messages and data, and its files in the media store that
        nothing else needs (another contact may have sent the same file). A file that cannot
        be deleted now is an orphan the retention sweep deletes later (engine/media_sweep.py)."""
        client, contact = await self.contact(client_slug, phone)
        files = await self._messages.contact_media(contact.id)
        await self._contacts.forget_by_id(contact.id)
        await self._bus.publish(ContactForgotten(client.id, contact.id))
        if self._media is not None and files:
            try:
                await forget_media(self._messages, self._media, files)
            except OSError as exc:
                logger.warning("the files of a forgotten contact stay until the sweep: %s", exc)

    async def _session_for(self, client: Client, contact: Contact) -> int:
        last = await self._messages.last_session_of(contact.id)
        if last is not None:
            return last
        connected = [
            s for s in await self._sessions.list(client.slug) if s.state is SessionState.CONNECTED
        ]
        if not connected:
            raise InvalidInput("outgoing.no_session", client=client.slug)
        return connected[0].id


def _taken(message: Message | None) -> Message:
    """The stored operator message, or the error saying WhatsApp did not (surely) take it."""
    assert message is not None
    if message.status is MessageStatus.FAILED:
        raise InvalidInput("outgoing.not_taken")
    if message.status is MessageStatus.PENDING:
        raise InvalidInput("outgoing.unconfirmed")
    return message


async def lookup_contact(contacts: ContactRepo, client: Client, text: str) -> Contact:
    """The contact an operator names: a phone in the client's region, or ``lid:<digits>`` for
    someone WhatsApp has shown only by their LID (as /chats lists them)."""
    raw = text.strip()
    if raw.lower().startswith("lid:") or raw.lower().endswith("@lid"):
        digits = raw[4:] if raw.lower().startswith("lid:") else raw[: -len("@lid")]
        if not digits.isdigit():
            raise InvalidInput("lid.invalid", raw=text)
        return await contacts.get_by_lid(client.id, f"{digits}@lid")
    try:
        digits = parse_phone(raw, client.region).digits
    except InvalidPhone as exc:
        raise InvalidInput("phone.write_like", raw=text, reason=exc.reason) from exc
    return await contacts.get(client.id, digits)


class AIControl:
    """Per-client AI switches and texts."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._clients = ClientRepo(db)
        self._settings = AISettingsRepo(db)
        self._calls = AICallRepo(db)
        self._clock = clock or SystemClock()

    async def set_enabled(self, client_slug: str, enabled: bool) -> AISettings:
        client = await self._clients.get(client_slug)
        return await self._settings.update(client.id, enabled=enabled)

    async def set_prompt(self, client_slug: str, prompt: str) -> AISettings:
        client = await self._clients.get(client_slug)
        return await self._settings.update(client.id, system_prompt=prompt.strip())

    async def set_context(self, client_slug: str, context: str) -> AISettings:
        client = await self._clients.get(client_slug)
        return await self._settings.update(client.id, business_context=context.strip())

    async def status(self, client_slug: str) -> AIStatus:
        client = await self._clients.get(client_slug)
        since = self._clock.now() - timedelta(hours=24)
        return AIStatus(
            await self._settings.get(client.id),
            await self._calls.tokens_since(client.id, since),
            len(await self._calls.failures_since(client.id, since)),
        )
