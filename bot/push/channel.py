"""The port for pushing messages to operator chats (alerts, digests, QR codes).

Commands answer through `bot.commands.base.Reply`; messages nobody asked for right now go
through an `AdminChannel`, one per platform. A `Reply` whose platform can replace a picture
it sent also offers `LiveImages` (the pairing QR, one message as it rotates). Chats are named
`<platform>:<chat id>` (`tg:12345`, `slack:C0123`, `console`), the same form operators are
identified by. `split_text` cuts a long text to a platform's limit, for commands and alerts alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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


class LiveImage(Protocol):
    """One message that always shows the newest picture (a QR code that rotates)."""

    async def show(self, png: bytes, caption: str = "") -> None:
        """Send the picture the first time and replace it in place afterwards; when the
        platform refuses the edit (the message was deleted, or is too old), send it anew and
        keep replacing that one."""
        ...


@runtime_checkable
class LiveImages(Protocol):
    """What a `Reply` adds when its platform can replace a picture it sent."""

    def live_image(self) -> LiveImage:
        """A new live image; nothing is sent before its first `show()`."""
        ...


class _ImageReply(Protocol):
    async def image(self, png: bytes, caption: str = "") -> None: ...


class ResentImage:
    """`LiveImage` for a reply that cannot edit pictures (the console): each one is new."""

    def __init__(self, reply: _ImageReply) -> None:
        self._reply = reply

    async def show(self, png: bytes, caption: str = "") -> None:
        await self._reply.image(png, caption)


def live_image_for(reply: _ImageReply) -> LiveImage:
    """A live image in `reply`'s chat: edited in place where the platform allows it."""
    if isinstance(reply, LiveImages):
        return reply.live_image()
    return ResentImage(reply)


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


MAX_MESSAGES = 4
"""Beyond this many messages a text goes as a file: easier to read and kinder to rate limits."""


def _cut_line(line: str, limit: int) -> list[str]:
    """A line longer than `limit` in pieces, cut after a space where there is one."""
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit) + 1
        if cut <= 0:
            cut = limit
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, broken between lines.

    Joining the chunks with newlines gives the text back when no line exceeds the limit; a
    longer line is cut (after a space if possible) and its pieces joined without separator.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        for piece in _cut_line(line, limit):
            if current is not None and len(current) + 1 + len(piece) <= limit:
                current = f"{current}\n{piece}"
                continue
            if current is not None:
                chunks.append(current)
            current = piece
    if current is not None:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]
