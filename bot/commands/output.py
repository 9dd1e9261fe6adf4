"""Long outputs: split on line boundaries to the platform's limit, or sent as a file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.commands.base import Reply

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


async def send_long(
    reply: Reply,
    text: str,
    *,
    filename: str = "waops.txt",
    file_caption: str = "",
    max_messages: int = MAX_MESSAGES,
) -> None:
    """Send `text` as one or a few messages within `reply.text_limit`, or as a text file."""
    chunks = split_text(text, reply.text_limit)
    if len(chunks) > max_messages:
        await reply.file(filename, text.encode("utf-8"), file_caption)
        return
    for chunk in chunks:
        await reply.text(chunk)
