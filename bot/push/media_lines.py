"""How a WhatsApp file reads where operators read chats (/conv, digests, forwarded chats): one
line with its kind, its length or size, and its transcript or caption.

    🎤 nota de voz 0:31 — transcripción: «quiero el de 3 plazas»
    🖼 foto 48 KB: ¿este lo tienen en gris?
    📄 documento factura.pdf 183 KB

The kinds are WA-JS `MsgModel.type` strings (v4.6.0 src/whatsapp/enums/MSG_TYPE.ts l.43-48).
A voice note, an audio or a video says how long it is when WhatsApp said so (MsgModel
`duration`), else its size; the rest say their size. The transcript is marked as one, so an
operator never takes the machine's hearing for the contact's own words. A file that waops
could not keep says so, since /media will not find it.
"""

from __future__ import annotations

from typing import Final

from bot.texts import Language, render, t
from engine.media import describe_duration, describe_size
from storage.records import MediaState, Message

ICONS: Final = {
    "ptt": "🎤",
    "audio": "🎵",
    "image": "🖼",
    "video": "🎬",
    "document": "📄",
    "sticker": "🏷",
}
MEDIA_KINDS: Final = frozenset(ICONS)
_TIMED: Final = frozenset({"ptt", "audio", "video"})
_NOT_KEPT: Final = frozenset({MediaState.FAILED, MediaState.TOO_LARGE, MediaState.EXPIRED})


def media_kind(message: Message) -> str | None:
    """The message's file kind, or None for text and the other kinds (location, contact...)."""
    kind = message.media.kind if message.media is not None else message.type
    return kind if kind in MEDIA_KINDS else None


def media_line(message: Message, lang: Language) -> str | None:
    """The one line for a message with a file, in `lang`; None when it has none."""
    kind = media_kind(message)
    if kind is None:
        return None
    info = message.media
    parts = [f"{ICONS[kind]} {t(lang, f'mline.{kind}')}"]
    if info is not None:
        if kind == "document" and info.filename:
            parts.append(info.filename)
        length = describe_duration(info.duration_s) if kind in _TIMED else ""
        if length:
            parts.append(length)
        elif info.size_bytes:
            parts.append(render(lang, describe_size(info.size_bytes)))
        if info.state in _NOT_KEPT:
            parts.append(t(lang, f"mline.state.{info.state.value}"))
    line = " ".join(parts)
    if info is not None and info.transcript:
        transcript = " ".join(info.transcript.split())
        return f"{line} — {t(lang, 'mline.transcript', text=transcript)}"
    caption = message.body.strip()
    return f"{line}: {caption}" if caption else line


def file_label(kind: str, name: str | None, size: int, lang: Language) -> str:
    """A file an operator sent, as replies name it: `🖼 foto banner.jpg (48 KB)`."""
    icon, word = ICONS.get(kind, "📎"), t(lang, f"mline.{kind}") if kind in ICONS else kind
    named = f" {name}" if name else ""
    return f"{icon} {word}{named} ({render(lang, describe_size(size))})"
