"""The Bot API methods of the fake Telegram, with what they change: the messages the bot sent
(so edits behave like Telegram's), the files it serves and the queue `getUpdates` long-polls."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

from tests.support.fakes.telegram.records import (
    BOT_ID,
    BOT_USERNAME,
    CHAT_ACTIONS,
    DOWNLOAD_BYTES,
    EDITABLE_MEDIA,
    PHOTO_UPLOAD_BYTES,
    UPLOAD_BYTES,
    UPLOAD_FIELDS,
    ApiError,
    Sent,
    chat,
    user,
    utf16,
)

Files = dict[str, tuple[str, bytes]]


class BotApi:
    """Answers one method call (`answer`) from the state the calls and the users build up."""

    def __init__(self, unexpected: list[str]) -> None:
        self.unexpected = unexpected
        self.sent: dict[tuple[int, int], Sent] = {}
        self.files: Files = {}
        """Files users sent, by file_id: (path under base_file_url, content)."""
        self.changed = asyncio.Condition()
        """Notified after every call and every update."""
        self.closing = asyncio.Event()
        self._updates: list[dict[str, Any]] = []
        self._polls = 0  # getUpdates calls so far: a newer one ends the one waiting
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)

    async def close(self) -> None:
        """Answer the waiting long polls now."""
        self.closing.set()
        async with self.changed:
            self.changed.notify_all()

    async def push(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its `update_id` is set here) and wake the long poll."""
        update_id = next(self._update_ids)
        async with self.changed:
            self._updates.append({"update_id": update_id, **update})
            self.changed.notify_all()
        return update_id

    def incoming(self, user_id: int, chat_id: int | None, language: str | None) -> dict[str, Any]:
        """A new Message from `user_id` in their private chat (or group `chat_id`)."""
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat(chat_id or user_id, user_id),
            "from": user(user_id, language),
        }

    def add_file(self, file_name: str, data: bytes, folder: str = "documents") -> str:
        """A file a user sent: its file_id, its content served for getFile."""
        file_id = f"{folder[:3]}-{next(self._file_ids)}"
        self.files[file_id] = (f"{folder}/{file_name}", data)
        return file_id

    async def answer(self, method: str, params: dict[str, Any], files: Files) -> Any:
        """The result of `method` (an implemented one); raises ApiError for a refusal."""
        return await getattr(self, f"_m_{method}")(params, files)

    # -- methods ----------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "waops",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any], files: Files) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout_s = float(params.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # Two pollers of one token: the long poll already waiting is ended by the newer one
        # with 409 "Conflict: terminated by other getUpdates request; make sure that only one
        # bot instance is running" (what PTB raises as telegram.error.Conflict; reported in
        # python-telegram-bot/python-telegram-bot#4237, pengrad/java-telegram-bot-api#261).
        self._polls += 1
        mine = self._polls
        async with self.changed:
            self.changed.notify_all()
        if not self._updates and timeout_s > 0 and not self.closing.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s), self.changed:
                    await self.changed.wait_for(
                        lambda: bool(self._updates) or self.closing.is_set() or self._polls != mine
                    )
        if self._polls != mine and not self._updates:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request;"
                " make sure that only one bot instance is running",
            )
        return self._updates[: int(params.get("limit") or 100)]

    async def _m_deleteWebhook(self, params: dict[str, Any], files: Files) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: Files) -> bool:
        for command in params["commands"]:
            name, description = command["command"], command["description"]
            if not (1 <= len(name) <= 32 and name.islower() and 1 <= len(description) <= 256):
                raise ApiError(400, f"Bad Request: BOT_COMMAND_INVALID {command}")
        return True

    async def _m_close(self, params: dict[str, Any], files: Files) -> bool:
        return True

    async def _m_logOut(self, params: dict[str, Any], files: Files) -> bool:
        return True

    async def _m_sendMessage(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        if params.get("parse_mode"):
            raise ApiError(400, "Bad Request: this fake only takes plain text")
        return self._store(params, {"text": text})

    async def _m_sendPhoto(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        data = self._upload("sendPhoto", params, files)
        if len(data) > PHOTO_UPLOAD_BYTES:
            raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        return self._store(params, {"photo": self._photo()}, data)

    async def _m_sendDocument(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        data = self._upload("sendDocument", params, files)
        name = files["document"][0]
        document = {"file_id": "d1", "file_unique_id": "ud1", "file_name": name}
        return self._store(params, {"document": {**document, "file_size": len(data)}}, data)

    async def _m_sendVoice(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        """Bot API sendVoice: "an .OGG file encoded with OPUS, or in .MP3 format, or in .M4A
        format"; the fake checks the upload's name says so (it cannot decode audio)."""
        data = self._upload("sendVoice", params, files)
        name = files["voice"][0].lower()
        if not name.endswith((".ogg", ".oga", ".opus", ".mp3", ".m4a")):
            self.unexpected.append(f"sendVoice with {name!r}: not OGG/Opus, MP3 or M4A")
        return self._store(params, {"voice": self._medium("v", data, params)}, data)

    async def _m_sendAudio(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        """Bot API sendAudio: "Your audio must be in the .MP3 or .M4A format"."""
        data = self._upload("sendAudio", params, files)
        name = files["audio"][0].lower()
        if not name.endswith((".mp3", ".m4a")):
            self.unexpected.append(f"sendAudio with {name!r}: not MP3 or M4A")
        return self._store(params, {"audio": self._medium("a", data, params)}, data)

    async def _m_sendVideo(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        """Bot API sendVideo: "Telegram clients support MPEG4 videos (other formats may be sent
        as Document)"."""
        data = self._upload("sendVideo", params, files)
        if not files["video"][0].lower().endswith(".mp4"):
            self.unexpected.append(f"sendVideo with {files['video'][0]!r}: not MPEG4")
        return self._store(params, {"video": self._medium("vi", data, params)}, data)

    async def _m_editMessageText(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        sent = self._find(params)
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        if text == sent.text and markup == sent.markup:
            raise ApiError(400, "Bad Request: message is not modified: the same content")
        sent.text, sent.markup = text, markup
        return self._message(sent, params)

    async def _m_editMessageReplyMarkup(
        self, params: dict[str, Any], files: Files
    ) -> dict[str, Any]:
        sent = self._find(params)
        markup = params.get("reply_markup")
        if markup == sent.markup or (not markup and not sent.markup):
            raise ApiError(400, "Bad Request: message is not modified: the same reply markup")
        sent.markup = markup
        return self._message(sent, params)

    async def _m_editMessageMedia(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        """Bot API editMessageMedia: "edit animation, audio, document, photo, or video messages,
        or to add media to text messages"; a new file is uploaded as `attach://<name>` under
        that name in the multipart request (InputMediaPhoto, `media`). The message keeps its
        id; the caption is the new media's (up to 1024 characters, as in sendPhoto)."""
        sent = self._find(params)
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") not in EDITABLE_MEDIA:
            self.unexpected.append(f"editMessageMedia with media {media!r}")
            raise ApiError(400, "Bad Request: this fake takes a new photo or document only")
        attach = str(media.get("media", ""))
        if not attach.startswith("attach://") or attach.removeprefix("attach://") not in files:
            self.unexpected.append(f"editMessageMedia without the upload it names: {attach!r}")
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if media.get("parse_mode"):
            raise ApiError(400, "Bad Request: this fake only takes plain text")
        self._check_caption(media)
        data = files[attach.removeprefix("attach://")][1]
        caption, markup = media.get("caption"), params.get("reply_markup")
        if data == sent.media and caption == sent.caption and markup == sent.markup:
            # pyTelegramBotAPI#763 quotes the full answer for an edit that changes nothing.
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        kind = str(media["type"])
        content: dict[str, Any] = {"photo": self._photo()}
        if kind == "document":
            content = {
                "document": {"file_id": "d1", "file_unique_id": "ud1", "file_size": len(data)}
            }
        sent.body, sent.media, sent.text = content, data, None
        sent.caption, sent.markup = caption, markup
        return self._message(sent, params)

    async def _m_sendChatAction(self, params: dict[str, Any], files: Files) -> bool:
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: Files) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query id is empty")
        return True

    async def _m_getFile(self, params: dict[str, Any], files: Files) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        if len(data) > DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    # -- helpers ----------------------------------------------------------------------------

    def _upload(self, method: str, params: dict[str, Any], files: Files) -> bytes:
        """The uploaded file of a send method, checked as the Bot API checks uploads."""
        field = UPLOAD_FIELDS[method]
        if field not in files:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        self._check_caption(params)
        data = files[field][1]
        if len(data) > UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return data

    def _medium(self, prefix: str, data: bytes, params: dict[str, Any]) -> dict[str, Any]:
        """The Voice/Audio/Video object of a new upload (Bot API: `duration` is required in all
        three, `width` and `height` too in a Video)."""
        file_id = f"{prefix}{next(self._file_ids)}"
        medium: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
        medium["duration"] = int(params.get("duration") or 0)
        if prefix == "vi":
            medium |= {"width": 640, "height": 360}
        return {**medium, "file_size": len(data)}

    def _check_caption(self, params: dict[str, Any]) -> None:
        if utf16(str(params.get("caption") or "")) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")

    def _photo(self) -> list[dict[str, Any]]:
        """The PhotoSize list of a new upload (each upload gets its own file_id)."""
        file_id = f"p{next(self._file_ids)}"
        return [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1, "height": 1}]

    def _store(
        self, params: dict[str, Any], content: dict[str, Any], media: bytes | None = None
    ) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        sent = Sent(
            chat_id,
            content.get("text"),
            params.get("caption"),
            params.get("reply_markup"),
            {k: v for k, v in content.items() if not k.startswith("_")},
            media,
        )
        self.sent[(chat_id, message_id)] = sent
        return self._message(sent, {"message_id": message_id})

    def _find(self, params: dict[str, Any]) -> Sent:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        if key not in self.sent:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.sent[key]

    def _message(self, sent: Sent, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": chat(sent.chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "waops"},
            **sent.body,
        }
        if sent.text is not None:
            message["text"] = sent.text
        if sent.caption:
            message["caption"] = sent.caption
        if sent.markup:
            message["reply_markup"] = sent.markup
        return message
