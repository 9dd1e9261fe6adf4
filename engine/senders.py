"""What can send through a WhatsApp session, by session id: the SessionManager in production,
fakes in tests. The inbound replies and the campaigns both need it, so it is one kernel."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from engine.whatsapp.types import OutgoingMedia, SentMessage


class MessageSender(Protocol):
    """What can send a text through a session."""

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage: ...


@runtime_checkable
class MediaSender(Protocol):
    """What can also send a file through a session."""

    async def send_media(
        self,
        session_id: int,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage: ...
