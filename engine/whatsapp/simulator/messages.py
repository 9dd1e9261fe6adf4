"""Message payloads shaped like WhatsApp Web's MsgModel (src/whatsapp/models/MsgModel.ts).

The page (static/wpp-fake/) turns these into MsgModel-like objects for ``chat.new_message``.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from engine.whatsapp.simulator import ids

Json = dict[str, Any]

# A real 12x8 JPEG. WhatsApp Web puts a base64 JPEG thumbnail in ``body`` of media messages
# and the text in ``caption`` (MsgModel.ts: ``body``, ``caption``; WA-JS.md "Messages").
THUMBNAIL_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4"
    "UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAIAAwDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcI"
    "CQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRol"
    "JicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ip"
    "qrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAA"
    "AAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLR"
    "ChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaX"
    "mJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEA"
    "PwC1RRRXGfNH/9k="
)

# Media kinds and the MsgModel fields they carry (MsgModel.ts: mimetype, size, duration,
# filename, pageCount, width, height). Values are typical of what a phone sends.
MEDIA: dict[str, Json] = {
    "image": {"mimetype": "image/jpeg", "size": 48213, "width": 1280, "height": 960},
    "video": {"mimetype": "video/mp4", "size": 1048576, "duration": 12},
    "sticker": {"mimetype": "image/webp", "size": 24576, "width": 512, "height": 512},
    "document": {
        "mimetype": "application/pdf",
        "size": 183204,
        "filename": "documento.pdf",
        "pageCount": 2,
    },
    "ptt": {"mimetype": "audio/ogg; codecs=opus", "size": 9810, "duration": 4},
    "audio": {"mimetype": "audio/mpeg", "size": 312000, "duration": 31},
}
# WhatsApp lets people caption images, videos and documents; stickers and audio have none.
CAPTIONED = frozenset({"image", "video", "document"})
# Kinds with a play time (MsgModel.ts l.79 ``duration``).
TIMED = frozenset({"ptt", "audio", "video"})


def filehash_of(data: bytes) -> str:
    """MsgModel ``filehash`` (MsgModel.ts l.80): the base64 SHA-256 of the plain file."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def stand_in_file(kind: str) -> bytes:
    """The file of a media message sent with only its ``type``: deterministic bytes of the
    kind's typical size, so that every media message can be downloaded."""
    size = int(MEDIA[kind]["size"])
    seed = hashlib.sha256(f"waops-simulator-{kind}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


# Notification kinds (isNotification true) with a typical subtype of each.
NOTIFICATIONS: dict[str, str] = {
    "e2e_notification": "encrypt",
    "notification_template": "biz_privacy_mode_init_fb",
    "call_log": "miss",
    "gp2": "add",
    "protocol": "ephemeral_setting",
}
KINDS = frozenset({"chat", *MEDIA, *NOTIFICATIONS})


class BadMessage(ValueError):
    """A message the control API cannot build; the text says why."""


@dataclass(frozen=True, slots=True)
class Content:
    """What a message says, by kind."""

    type: str = "chat"
    body: str | None = None
    caption: str | None = None
    mimetype: str | None = None
    filename: str | None = None
    subtype: str | None = None
    # The file itself (``"media": {"data": ...}``); ``None`` for the ``type`` shortcut.
    data: bytes | None = field(default=None, repr=False)
    duration: int | None = None

    def file(self) -> bytes:
        """The bytes a download of this media message gives."""
        return self.data if self.data is not None else stand_in_file(self.type)

    def fields(self) -> Json:
        """The MsgModel fields of this content; refuses combinations WhatsApp has not."""
        if self.type not in KINDS:
            raise BadMessage(f'"type" must be one of {", ".join(sorted(KINDS))}, got {self.type!r}')
        if self.type == "chat":
            if self.body is None:
                raise BadMessage('"body" must be a str for a chat message')
            if self.caption is not None or self.mimetype or self.filename:
                raise BadMessage('a "chat" message has no caption, mimetype or filename')
            return {"type": "chat", "body": self.body, "isMedia": False, "isNotification": False}
        if self.type in MEDIA:
            if self.body is not None:
                raise BadMessage(
                    f'the body of a {self.type} message is its thumbnail: put the text in "caption"'
                )
            if self.caption is not None and self.type not in CAPTIONED:
                raise BadMessage(f"WhatsApp has no caption for {self.type} messages")
            if self.filename is not None and self.type != "document":
                raise BadMessage('"filename" is only for document messages')
            if self.duration is not None and self.type not in TIMED:
                raise BadMessage(f'a {self.type} has no "duration"')
            if self.data is not None and not self.data:
                raise BadMessage('"data" is empty: WhatsApp sends no empty files')
            media = dict(MEDIA[self.type])
            data = self.file()
            media["size"] = len(data)
            media["filehash"] = filehash_of(data)
            if self.duration is not None:
                media["duration"] = self.duration
            if self.mimetype:
                media["mimetype"] = self.mimetype
            if self.filename:
                media["filename"] = self.filename
            if self.caption is not None:
                media["caption"] = self.caption
            return {
                "type": self.type,
                "body": THUMBNAIL_B64,
                "isMedia": True,
                "isNotification": False,
                **media,
            }
        if self.caption is not None or self.mimetype or self.filename:
            raise BadMessage(f"a {self.type} notification has no caption, mimetype or filename")
        return {
            "type": self.type,
            "subtype": self.subtype or NOTIFICATIONS[self.type],
            "body": self.body or "",
            "isMedia": False,
            "isNotification": True,
        }


@dataclass(frozen=True, slots=True)
class Me:
    """The business account as message addresses need it."""

    wid: str
    lid: str

    def in_chat(self, chat: str) -> str:
        """My address in ``chat``: my LID in @lid chats and groups, else my phone id
        (prepareRawMessage.ts / generateMessageID.ts: "addressing mode matches the chat")."""
        return self.lid if chat.endswith(("@lid", "@g.us")) else self.wid


def build(
    me: Me | None,
    content: Content,
    *,
    from_me: bool,
    chat: str,
    participant: str | None = None,
    raw_id: str | None = None,
    **extra: Any,
) -> Json:
    """One message for the page. ``chat`` is the MsgKey remote; ``participant`` the sender
    in groups and status posts (the MsgModel ``author``)."""
    # A phone not paired yet has no address: the page fills in its own when it loads.
    mine = None if me is None else me.in_chat(chat)
    sender = mine if from_me else chat
    return {
        "fromMe": from_me,
        "remote": chat,
        "id": raw_id or ids.message_id(),
        "participant": participant,
        "author": participant,
        "from": sender,
        "to": chat if from_me else mine,
        "t": int(time.time()),
        # ACK.SENT for what the phone itself sent, CLOCK for what we received (MsgModel.ack).
        "ack": 1 if from_me else 0,
        **content.fields(),
        **extra,
    }
