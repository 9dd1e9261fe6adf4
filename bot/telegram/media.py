"""A WhatsApp file sent to a Telegram chat the way Telegram shows its kind best.

Which method, from the Bot API (core.telegram.org/bots/api):
- sendVoice for a voice note: "the audio must be in an .OGG file encoded with OPUS, or in .MP3
  format, or in .M4A format" (WhatsApp voice notes are OGG/Opus, `audio/ogg; codecs=opus`);
- sendAudio for other audio in "the .MP3 or .M4A format";
- sendPhoto for a JPEG or PNG photo: "The photo must be at most 10 MB in size" (PTB
  `FileSizeLimit.PHOTOSIZE_UPLOAD = int(10e6)`, decimal); a larger one goes as a document;
- sendVideo for an MP4: "Telegram clients support MPEG4 videos (other formats may be sent as
  Document)";
- sendDocument for everything else (stickers, PDFs, other formats): any file.
Uploads by multipart/form-data take "10 MB max size for photos, 50 MB for other files"
(#sending-files; PTB `FILESIZE_UPLOAD = int(50e6)`), hence `MAX_UPLOAD_BYTES`.
Captions are "0-1024 characters after entities parsing"; a longer one follows as a text.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final, Protocol, TypeVar

from telegram import Message
from telegram.ext import ExtBot

from bot.commands.base import MediaFile

T = TypeVar("T")


class Sender(Protocol):
    """What of `TelegramSender` (bot/telegram/reply.py) a file needs: the bot, the error
    mapping of its calls, and texts."""

    @property
    def bot(self) -> ExtBot[Any]: ...

    async def call(self, call: Awaitable[T]) -> T: ...

    async def text(self, chat: str, text: str) -> Message | None: ...


MAX_UPLOAD_BYTES: Final = 50_000_000
MAX_PHOTO_BYTES: Final = 10_000_000
CAPTION_UNITS: Final = 1024
"""Counted in UTF-16 units, as Telegram counts text (bot/telegram/reply.py utf16_units)."""
_VOICE_TYPES: Final = frozenset({"audio/ogg", "audio/mpeg", "audio/mp4"})
_AUDIO_TYPES: Final = frozenset({"audio/mpeg", "audio/mp4"})
_PHOTO_TYPES: Final = frozenset({"image/jpeg", "image/png"})


def method_for(file: MediaFile) -> str:
    """The Bot API method that shows `file` as what it is (see the module docstring)."""
    mime = file.mimetype.split(";", 1)[0].strip().lower()
    if file.kind == "ptt" and mime in _VOICE_TYPES:
        return "sendVoice"
    if file.kind in ("audio", "ptt") and mime in _AUDIO_TYPES:
        return "sendAudio"
    if file.kind == "image" and mime in _PHOTO_TYPES and len(file.data) <= MAX_PHOTO_BYTES:
        return "sendPhoto"
    if file.kind == "video" and mime == "video/mp4":
        return "sendVideo"
    return "sendDocument"


async def send_file(sender: Sender, chat: str, file: MediaFile, caption: str = "") -> None:
    """Upload `file` to `chat` with `caption` (as a text after it when over 1024 units)."""
    fits = len(caption.encode("utf-16-le")) // 2 <= CAPTION_UNITS
    shown = (caption if fits else "") or None
    bot, method = sender.bot, method_for(file)
    if method == "sendVoice":
        await sender.call(
            bot.send_voice(
                chat, file.data, duration=file.duration_s, caption=shown, filename=file.name
            )
        )
    elif method == "sendAudio":
        await sender.call(
            bot.send_audio(
                chat, file.data, duration=file.duration_s, caption=shown, filename=file.name
            )
        )
    elif method == "sendPhoto":
        await sender.call(bot.send_photo(chat, file.data, caption=shown, filename=file.name))
    elif method == "sendVideo":
        await sender.call(
            bot.send_video(
                chat, file.data, duration=file.duration_s, caption=shown, filename=file.name
            )
        )
    else:
        await sender.call(bot.send_document(chat, file.data, caption=shown, filename=file.name))
    if not fits:
        await sender.text(chat, caption)
