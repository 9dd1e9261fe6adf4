"""Sending a message from a session and storing it, for every origin but campaigns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from engine.clock import utcnow
from engine.events import EventBus, MessageSent
from engine.senders import MediaSender, MessageSender
from engine.whatsapp.errors import SendUnknown, SessionLost, WhatsAppError
from engine.whatsapp.types import OutgoingMedia, SentMessage
from storage.db import Database
from storage.records import (
    Direction,
    MediaInfo,
    MediaState,
    Message,
    MessageStatus,
    NewMessage,
    Origin,
)
from storage.repos import MessageRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyTo:
    """One chat a message goes to: the client's number (session) and the contact, with the
    WhatsApp chat id to write to. Built once per inbound message or operator reply."""

    client_id: int
    session_id: int
    contact_id: int
    chat_id: str


class Outbound:
    """Sends through a session and stores the message with its origin and WhatsApp id."""

    def __init__(self, db: Database, sender: MessageSender, bus: EventBus | None = None) -> None:
        self._messages = MessageRepo(db)
        self._sender = sender
        self._bus = bus

    async def reply(
        self, to: ReplyTo, text: str, origin: Origin, *, typing_ms: int = 0
    ) -> Message | None:
        """Send `text` to the chat `to`; the stored row says `sent`, `pending` (handed to
        WhatsApp, outcome not known) or `failed`. Raises nothing for WhatsApp trouble (it is
        logged and stored); returns the stored message."""

        async def send() -> SentMessage:
            return await self._sender.send_text(
                to.session_id, to.chat_id, text, typing_ms=typing_ms
            )

        return await self._send(to, text, origin, send, None)

    async def reply_media(
        self,
        to: ReplyTo,
        media: OutgoingMedia,
        caption: str,
        origin: Origin,
        *,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> Message | None:
        """Send a file with `caption` to the chat `to`, stored as `reply` stores a text (the
        row carries the file's facts, its bytes already in the media store by `sha256`)."""
        sender = self._sender
        if not isinstance(sender, MediaSender):
            raise TypeError(f"{type(sender).__name__} cannot send files")

        async def send() -> SentMessage:
            return await sender.send_media(
                to.session_id,
                to.chat_id,
                media,
                caption=caption,
                typing_ms=typing_ms,
                timeout_s=timeout_s,
            )

        info = MediaInfo(
            kind=media.kind,
            mimetype=media.mimetype,
            size_bytes=len(media.data),
            filename=media.filename,
            sha256=media.sha256,
            state=MediaState.STORED,
        )
        return await self._send(to, caption, origin, send, info)

    async def _send(
        self,
        to: ReplyTo,
        text: str,
        origin: Origin,
        send: Callable[[], Awaitable[SentMessage]],
        media: MediaInfo | None,
    ) -> Message | None:
        status, wa_id = MessageStatus.FAILED, None
        try:
            sent = await send()
            status, wa_id = MessageStatus.SENT, sent.id
        except (SendUnknown, SessionLost) as exc:
            if isinstance(exc, SendUnknown) or exc.maybe_sent:
                status = MessageStatus.PENDING
                wa_id = exc.message_id if isinstance(exc, SendUnknown) else None
            logger.warning("a %s message to %s may not have gone: %s", origin, to.chat_id, exc)
        except WhatsAppError as exc:
            logger.warning("could not send a %s message to %s: %s", origin, to.chat_id, exc)
        record = NewMessage(
            to.client_id,
            to.contact_id,
            Direction.OUT,
            origin,
            text,
            utcnow(),
            session_id=to.session_id,
            wa_message_id=wa_id,
            type="chat" if media is None else media.kind,
            status=status,
            media=media,
        )
        # Once WhatsApp took the message, recording it must not be lost to a cancellation.
        stored = await asyncio.shield(self._messages.add(record))
        if self._bus is not None:
            await self._bus.publish(
                MessageSent(to.client_id, to.session_id, origin, wa_id is not None)
            )
        return stored
