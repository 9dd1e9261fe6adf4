"""The port the engine talks to: one WhatsApp Web session."""

from __future__ import annotations

from typing import Protocol

from engine.whatsapp.types import (
    Backlog,
    EventSink,
    LinkStatus,
    NumberInfo,
    OutgoingMedia,
    SentMessage,
)


class WhatsAppDriver(Protocol):
    """One WhatsApp Web session. Every method raises only ``WhatsAppError`` subclasses."""

    async def start(self, events: EventSink) -> None:
        """Launch, load WhatsApp Web and wait for WA-JS (``WAJSNotReady`` when it never comes)."""
        ...

    async def stop(self) -> None:
        """Close the browser; safe to call twice or after a crash."""
        ...

    async def status(self) -> LinkStatus:
        """Whether the session is linked and connected right now."""
        ...

    async def auth_code(self) -> str | None:
        """The current QR text, or ``None`` when already linked."""
        ...

    async def refresh_qr(self) -> None:
        """Ask for a fresh QR (after it went idle)."""
        ...

    async def request_pairing_code(self, phone: str) -> str:
        """Start the managed phone-number flow; its first 8-character code.

        Later codes (WA-JS refreshes them on its own) arrive as ``LinkCodeChanged`` events, the
        end of the refreshes as ``LinkCodeExpired``.
        """
        ...

    async def cancel_pairing_code(self) -> None:
        """Stop the managed phone-number flow (back to the QR)."""
        ...

    async def take_over(self) -> None:
        """Use WhatsApp here when it is open in another window (stream ``CONFLICT``);
        ``NotInConflict`` otherwise."""
        ...

    async def logout(self) -> None:
        """Unlink this device (the page then navigates away: that is a success)."""
        ...

    async def send_text(self, chat_id: str, text: str, *, typing_ms: int = 0) -> SentMessage:
        """Send a text, showing "typing" for ``typing_ms`` first.

        ``SendFailed``: certainly not sent. ``SendUnknown`` or ``SessionLost(maybe_sent=True)``:
        it may have gone out. ``NotLoggedIn`` / ``SessionLost(maybe_sent=False)``: not tried.
        """
        ...

    async def send_media(
        self,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage:
        """Send a file (``WPP.chat.sendFileMessage``) with ``caption``; the same outcomes as
        ``send_text``. A file the page would not take (staging) is ``SendFailed``: nothing was
        queued. ``timeout_s`` bounds the upload and WhatsApp's answer; past it the send is
        ``SendUnknown``."""
        ...

    async def download_media(self, message_id: str, *, max_bytes: int) -> bytes:
        """The file of an inbound media message, at most ``max_bytes`` (checked before any byte
        is read). Raises only ``MediaUnavailable``; ``.code`` says why and ``.retryable``
        whether asking again may help."""
        ...

    async def check_number(self, digits: str) -> NumberInfo | None:
        """The WhatsApp ids of a number, or ``None`` when it is not on WhatsApp.

        ``NumberCheckUnavailable`` when WhatsApp could not be asked (not MAIN and online).
        """
        ...

    async def resolve_contact(self, contact_id: str) -> tuple[str | None, str | None]:
        """``getPnLidEntry``: the (``@c.us`` phone id, ``@lid`` id) of a person, each ``None``
        while unknown."""
        ...

    async def catch_up(self, since_s: int, *, max_chats: int, per_chat: int) -> Backlog:
        """What the page's own message store holds that contacts wrote since ``since_s`` (epoch
        seconds): messages the page received, and WhatsApp will not send again, that may never
        have reached the event sink (the process died first). Read from at most ``max_chats``
        recent chats, ``per_chat`` messages each."""
        ...

    async def is_alive(self, timeout_s: float) -> bool:
        """True when the page answers within ``timeout_s`` (for a watchdog)."""
        ...
