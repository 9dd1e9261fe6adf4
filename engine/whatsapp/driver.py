"""The port the engine talks to: one WhatsApp Web session."""

from __future__ import annotations

from typing import Protocol

from engine.whatsapp.types import EventSink, LinkStatus, SentMessage


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
        """An 8-character code to type on the phone instead of scanning the QR."""
        ...

    async def logout(self) -> None:
        """Unlink this device."""
        ...

    async def send_text(self, chat_id: str, text: str, *, typing_ms: int = 0) -> SentMessage:
        """Send a text, showing "typing" for ``typing_ms`` first."""
        ...

    async def check_number(self, digits: str) -> str | None:
        """The canonical WhatsApp id of a number, or ``None`` when it is not on WhatsApp."""
        ...

    async def is_alive(self, timeout_s: float) -> bool:
        """True when the page answers within ``timeout_s`` (for a watchdog)."""
        ...
