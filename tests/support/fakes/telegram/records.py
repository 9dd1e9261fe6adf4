"""What the fake Telegram records and the Bot API rules it checks them against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOT_ID = 7000
BOT_USERNAME = "waops_test_bot"
TOKEN = "7000:TEST-token"

JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "reply_parameters",
        "media",
    }
)
# Failures injected with fail() hit these unless told otherwise; polling keeps working.
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)
IMPLEMENTED = SENDING | {
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setMyCommands",
    "sendChatAction",
    "answerCallbackQuery",
    "getFile",
    "close",
    "logOut",
}
# Bot API, "Sending files": "Post the file using multipart/form-data ... 10 MB max size for
# photos, 50 MB for other files" (PTB constants FileSizeLimit: PHOTOSIZE_UPLOAD = int(10e6),
# FILESIZE_UPLOAD = int(50e6), decimal). Over 50 MB the Bot API answers 413 "Request Entity Too
# Large" (telegraf/telegraf#774); the exact answer for a photo over 10 MB is not verified.
UPLOAD_BYTES = 50_000_000
PHOTO_UPLOAD_BYTES = 10_000_000
# Bot API, getFile: "bots can download files of up to 20MB in size"; the server's cap is
# MAX_DOWNLOAD_FILE_SIZE = 20 << 20 (telegram-bot-api Client.h), and over it getFile answers
# 400 "Bad Request: file is too big" (irazasyed/telegram-bot-sdk#1129).
DOWNLOAD_BYTES = 20 << 20
# Bot API, the file field of each send method: sendVoice `voice`, sendAudio `audio`, ...
UPLOAD_FIELDS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendVideo": "video",
}
# Bot API, InputMedia: the kinds editMessageMedia takes; the fake implements these two.
EDITABLE_MEDIA = frozenset({"photo", "document"})
# Methods that address a chat and so obey who the bot may write to.
TO_CHAT = SENDING | {"sendChatAction"}
# Bot API, sendChatAction: the kinds of `action`.
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


@dataclass(frozen=True)
class Call:
    """One Bot API request: method, parameters (JSON ones decoded), uploads, the answer."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    status: int
    at: float
    result: Any = None

    @property
    def message_id(self) -> int:
        """The id of the message this call sent."""
        assert isinstance(self.result, dict), f"{self.method} did not send a message"
        return int(self.result["message_id"])

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class Failure:
    """Failures injected with `FakeTelegram.fail()`: how many are left, and the answer."""

    remaining: int
    status: int
    description: str
    retry_after: int | None
    methods: frozenset[str]


@dataclass
class Sent:
    """A message the bot sent, as it stands now."""

    chat_id: int
    text: str | None
    caption: str | None
    markup: dict[str, Any] | None
    body: dict[str, Any] = field(default_factory=dict)
    media: bytes | None = None
    """The uploaded photo or document the message shows now."""


class ApiError(Exception):
    """A method refuses the call: the Bot API's `error_code` and `description`."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def chat(chat_id: int, user_id: int | None = None) -> dict[str, Any]:
    """The Chat object: a private chat for a positive id, else the ops supergroup."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{user_id or chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": "Ops"}


def user(user_id: int, language: str | None) -> dict[str, Any]:
    """The User object of a person."""
    person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if language:
        person["language_code"] = language
    return person


def utf16(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
