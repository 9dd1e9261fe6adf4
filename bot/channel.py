"""The port for pushing messages to operator chats (alerts, digests, QR codes).

Commands answer through `bot.commands.base.Reply`; messages nobody asked for right now go
through an `AdminChannel`, one per platform. Chats are named `<platform>:<chat id>` (`tg:12345`,
`slack:C0123`, `console`), the same form operators are identified by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Button:
    """A button that runs `command` (for example `/pair haby main`) as whoever presses it."""

    label: str
    command: str


@dataclass(frozen=True)
class Outgoing:
    """One message: text, optionally a PNG image or a file, and buttons."""

    text: str
    image: bytes | None = None
    file_name: str | None = None
    file_data: bytes | None = None
    buttons: tuple[Button, ...] = ()


class ChannelUnavailable(Exception):
    """The platform could not take the message now (network, 5xx, rate limit): retry later.

    `retry_after_s` is the wait the platform asked for, if it said one.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ChannelRejected(Exception):
    """The platform refused this message for good (unknown chat, bot blocked): do not retry."""


class AdminChannel(Protocol):
    """Delivers messages to chats of one platform."""

    @property
    def prefix(self) -> str:
        """The chat-name prefix it serves: `tg`, `slack` or `console`."""
        ...

    @property
    def text_limit(self) -> int:
        """Longest text one message may carry (longer ones are split or sent as a file)."""
        ...

    @property
    def min_interval_s(self) -> float:
        """Least time between two messages to the same chat (the platform's per-chat limit)."""
        ...

    async def deliver(self, chat: str, message: Outgoing) -> None:
        """Send to `chat` (its id without the prefix); raise ChannelUnavailable/ChannelRejected."""
        ...


def split_chat(chat_ref: str) -> tuple[str, str]:
    """`tg:123` -> (`tg`, `123`); `console` -> (`console`, ``)."""
    prefix, _, chat = chat_ref.partition(":")
    return prefix, chat
