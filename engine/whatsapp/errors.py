"""Errors raised by WhatsApp drivers; third-party exceptions are mapped to these at the boundary."""

from __future__ import annotations


class WhatsAppError(Exception):
    """Base class of every error a WhatsApp driver raises."""


class SessionLost(WhatsAppError):
    """The page or browser is gone, or a call timed out: transient, reconnect with backoff.

    ``maybe_sent`` is true when it interrupted a send after the message was handed to the page,
    so at-most-once callers must treat that message as *unknown*, not as failed; ``message_id``
    is then the id it was sent under (a later receipt for it proves it went out).
    """

    def __init__(
        self, message: str, *, maybe_sent: bool = False, message_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent
        self.message_id = message_id


class NotLoggedIn(WhatsAppError):
    """The call needs a linked (logged in, stream MAIN) session and this one is not."""


class WAJSNotReady(WhatsAppError):
    """WA-JS did not come up in the page within the configured time (WhatsApp Web changed?)."""


class ProfileInUse(WhatsAppError):
    """The Chromium profile directory is already held by another driver or process."""


class SendFailed(WhatsAppError):
    """WhatsApp rejected a message: it was not sent."""


class SendUnknown(WhatsAppError):
    """The send was handed to WhatsApp Web and its outcome is not known (``ERROR_NETWORK``,
    ``ERROR_UNKNOWN``, or the page failed after the call started): never send it again.

    ``message_id`` is the serialised key the message was given, when known, so a later receipt
    can still settle it.
    """

    def __init__(self, message: str, *, message_id: str | None = None) -> None:
        super().__init__(message)
        self.message_id = message_id


class NumberCheckUnavailable(WhatsAppError):
    """``queryWidExists`` gave no answer while the stream was not MAIN and online, so "not on
    WhatsApp" cannot be concluded: hold the recipient and ask again later."""


class NotInConflict(WhatsAppError):
    """``take_over`` was asked for a session that is not open elsewhere."""


class MediaUnavailable(WhatsAppError):
    """A message's file could not be read out of the page; ``code`` says why.

    WA-JS 4.6.0 ``src/chat/functions/downloadMedia.ts``: ``msg_not_found`` (getMessageById.ts,
    the page no longer holds the message), ``message_not_contains_media`` (l.41-49, no
    ``mediaData``), ``media_not_found`` (l.113-119, WhatsApp's servers gave nothing: expired or a
    network failure; a plain object, not a WPPError). Ours: ``too_large`` (the Blob is larger than
    the caller's cap; nothing was read), ``timeout`` (no Blob within the page deadline),
    ``not_connected`` (it failed while the stream was not MAIN and online: try again later),
    ``session_lost`` (the page broke or reloaded mid-read) and ``error`` (anything else).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code

    @property
    def retryable(self) -> bool:
        """Whether asking again later may succeed (the message and its media exist)."""
        return self.code in {"media_not_found", "timeout", "not_connected", "session_lost"}
