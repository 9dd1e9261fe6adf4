"""Errors raised by WhatsApp drivers; third-party exceptions are mapped to these at the boundary."""

from __future__ import annotations


class WhatsAppError(Exception):
    """Base class of every error a WhatsApp driver raises."""


class SessionLost(WhatsAppError):
    """The page or browser is gone, or a call timed out: transient, reconnect with backoff.

    ``maybe_sent`` is true when it interrupted a send after the message was handed to the page,
    so at-most-once callers must treat that message as *unknown*, not as failed.
    """

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class NotLoggedIn(WhatsAppError):
    """The call needs a linked (logged in, stream MAIN) session and this one is not."""


class WAJSNotReady(WhatsAppError):
    """WA-JS did not come up in the page within the configured time (WhatsApp Web changed?)."""


class ProfileInUse(WhatsAppError):
    """The Chromium profile directory is already held by another driver or process."""


class SendFailed(WhatsAppError):
    """WhatsApp rejected a message: it was not sent."""
