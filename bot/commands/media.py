"""/media CLIENT PHONE [N]: the N-th newest file of a chat (1 by default), sent to the operator.

Contacts' files are contacts' data: typed in a group or channel, the dispatcher sends the file
to the operator's private chat and leaves a pointer there (`private_output`, as /conv). The
file goes as its kind shows best on the platform (a voice note as a voice note, a photo as a
photo; bot/telegram/media.py, SlackReply.media), captioned with its /conv line.
"""

from __future__ import annotations

import mimetypes
from typing import Final

from bot.commands.base import (
    Command,
    CommandContext,
    CommandError,
    MediaFile,
    Proposal,
    send_media,
)
from bot.push.media_lines import media_line
from engine.inbound.conversations import Conversations
from storage.records import Direction, MediaState, Message, Role

MEDIA_MAX: Final = 50
"""How far back /media looks: the 50th newest file of a chat at most."""
_EXTENSIONS: Final = {
    "audio/ogg": ".ogg",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "application/pdf": ".pdf",
}


class MediaCommands:
    def __init__(self, conversations: Conversations) -> None:
        self._conversations = conversations

    def commands(self) -> list[Command]:
        return [
            Command(
                "media",
                self.media,
                role=Role.VIEWER,
                client_arg=0,
                min_args=2,
                max_args=3,
                private_output=True,
            )
        ]

    async def media(self, ctx: CommandContext) -> Proposal | None:
        client, phone = ctx.args[0].lower(), ctx.args[1]
        index = _index(ctx.args[2]) if len(ctx.args) > 2 else 1
        found = await self._conversations.media_of(client, phone, index)
        if not found:
            raise CommandError("media.none", phone=phone, client=client)
        if len(found) < index:
            raise CommandError("media.fewer", phone=phone, count=len(found))
        message, data = found[index - 1]
        arrow = "←" if message.direction is Direction.IN else "→"
        line = f"{message.sent_at:%m-%d %H:%M} {arrow} {media_line(message, ctx.lang) or ''}"
        if data is None:
            state = message.media.state if message.media is not None else MediaState.NONE
            why = state.value if state is not MediaState.STORED else MediaState.FAILED.value
            raise CommandError("media.not_kept", line=line, reason=ctx.t(f"media.why.{why}"))
        await send_media(ctx.reply, media_file(message, data), line)
        return None


def media_file(message: Message, data: bytes) -> MediaFile:
    """The file of `message` to send: its own name, else one made from its kind and type."""
    info = message.media
    kind = info.kind if info is not None else message.type
    mimetype = (info.mimetype if info is not None else None) or "application/octet-stream"
    bare = mimetype.split(";", 1)[0].strip().lower()
    name = info.filename if info is not None and info.filename else None
    if name is None:
        extension = _EXTENSIONS.get(bare) or mimetypes.guess_extension(bare) or ".bin"
        name = f"{kind}-{message.sent_at:%Y%m%d-%H%M%S}{extension}"
    duration = info.duration_s if info is not None else None
    return MediaFile(kind, name, data, mimetype, duration)


def _index(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= MEDIA_MAX:
        raise CommandError("media.bad_index", value=raw, max=MEDIA_MAX)
    return int(raw)
