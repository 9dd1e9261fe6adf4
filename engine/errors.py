"""Expected errors the engine raises to the operator side: the message says what to do."""

from __future__ import annotations

from engine.texts import Text, phrase
from engine.whatsapp.errors import MediaUnavailable, NotInConflict, WhatsAppError

# The WhatsApp errors the operator side may see come from here: the bot reaches the engine's
# services, never the driver.
__all__ = [
    "InvalidInput",
    "MediaUnavailable",
    "NoWorker",
    "NotInConflict",
    "RemoteFailed",
    "Text",
    "WhatsAppError",
]


class InvalidInput(ValueError):
    """An argument was wrong; `text` names it and how to fix it.

    Raised with a catalog key and its parameters (`InvalidInput("phone.not_a_phone", raw=...,
    reason=...)`): `str(exc)` is the English, and the bot says `text` in the operator's language.
    """

    def __init__(self, key: str, /, **params: object) -> None:
        self.text: Text = phrase(key, **params)
        super().__init__(str(self.text))


class NoWorker(WhatsAppError):
    """A split deployment (engine/remote.py): no `waops worker` took a command for the session
    in time (none holds its lease: none runs, or all are full), or the one that took it gave no
    answer. The message says which."""


class RemoteFailed(WhatsAppError):
    """A worker failed on a command with an error the bot does not know by name."""
