"""A small Telegram Bot API server on 127.0.0.1 for tests, driven by the real PTB.

It answers the methods waops uses (`/bot<token>/<method>`), serves files under
`/file/bot<token>/<path>`, long-polls `getUpdates` (answers as soon as an update is pushed),
records every call with its parsed parameters and uploads (except long polls that came back
empty), keeps the messages it sent so edits behave like Telegram's ("message is not
modified"; editMessageMedia replaces a photo), and can be told to fail the next calls (502, or
429 with `retry_after`), to be unreachable for a while (`outage_for`, every method, HTML 502 as
a proxy answers) or to refuse a chat (403). Anything else is answered 404 and recorded in
`unexpected`; `assert_no_unexpected()` checks it.

Who the bot may write to follows Telegram: "Bots can't initiate conversations with users. A
user must either add them to a group or send them a message first" (core.telegram.org/bots,
"How are bots different from users?"); a send to a person who never wrote to the bot is
answered 403 "Forbidden: bot can't initiate conversation with a user", and to a group the bot
is not in 400 "Bad Request: chat not found". A user who writes in a private chat (or presses
Start, `opened_by`) becomes reachable; a group becomes known when someone writes there or
`add_group` says the bot was added. `group_sends()` lists what went to groups, for privacy checks.

A user may delete a message the bot sent them (`deleted_by_user`): Telegram then answers an
edit of it with 400 "Bad Request: message to edit not found" (TelegramBotAPI/errors#7, "You will
get this error when editing a message that has already been deleted"). `photo_of()` is the
picture a message shows now, after its edits.

`allowed_updates` is recorded but not applied, so tests can check that the adapter ignores
updates it did not ask for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

BOT_ID = 7000
BOT_USERNAME = "waops_test_bot"
TOKEN = "7000:TEST-token"

_JSON_PARAMS = frozenset(
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
_IMPLEMENTED = frozenset(
    {
        "getMe",
        "getUpdates",
        "deleteWebhook",
        "setMyCommands",
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageMedia",
        "sendChatAction",
        "answerCallbackQuery",
        "getFile",
        "close",
        "logOut",
    }
)
# Failures injected with fail() hit these unless told otherwise; polling keeps working.
_SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)
# Bot API, InputMedia: the kinds editMessageMedia takes; the fake implements these two.
_EDITABLE_MEDIA = frozenset({"photo", "document"})
# Methods that address a chat and so obey who the bot may write to.
_TO_CHAT = _SENDING | {"sendChatAction"}
# Bot API, sendChatAction: the kinds of `action`.
_CHAT_ACTIONS = frozenset(
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
class _Failure:
    remaining: int
    status: int
    description: str
    retry_after: int | None
    methods: frozenset[str]


@dataclass
class _Sent:
    chat_id: int
    text: str | None
    caption: str | None
    markup: dict[str, Any] | None
    body: dict[str, Any] = field(default_factory=dict)
    media: bytes | None = None
    """The uploaded photo or document the message shows now."""


class FakeTelegram:
    """`async with FakeTelegram() as tg:` then give PTB `tg.base_url` and `tg.base_file_url`."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._sent: dict[tuple[int, int], _Sent] = {}
        self._failures: list[_Failure] = []
        self._refused: dict[int, tuple[int, str]] = {}
        self._reachable: set[int] = set()
        self._groups: set[int] = set()
        self._outage_until = 0.0
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- set-up -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/file/bot"

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self._port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    def assert_no_unexpected(self) -> None:
        assert not self.unexpected, f"unexpected requests to the fake Telegram: {self.unexpected}"

    def fail(
        self,
        times: int,
        *,
        status: int = 502,
        retry_after: int | None = None,
        methods: frozenset[str] = _SENDING,
    ) -> None:
        """The next `times` calls to `methods` fail: 502 Bad Gateway, or 429 with retry_after."""
        description = "Bad Gateway" if status == 502 else f"Error {status}"
        if status == 429:
            description = f"Too Many Requests: retry after {retry_after}"
        self._failures.append(_Failure(times, status, description, retry_after, methods))

    def outage_for(self, seconds: float) -> None:
        """Every request (getMe and getUpdates too) answers 502 from a proxy for `seconds`."""
        self._outage_until = time.monotonic() + seconds

    def opened_by(self, user_id: int) -> None:
        """`user_id` opened the bot and pressed Start: the bot may write to them from now on."""
        self._reachable.add(user_id)

    def add_group(self, chat_id: int) -> None:
        """The bot was added to group `chat_id`."""
        self._groups.add(chat_id)

    def deleted_by_user(self, chat_id: int, message_id: int) -> None:
        """The user deletes message `message_id` of the bot in their chat `chat_id`."""
        del self._sent[(chat_id, message_id)]

    def refuse(self, chat_id: int, status: int = 403, description: str = "") -> None:
        """Every later send to `chat_id` fails like a chat that blocked the bot (or is gone)."""
        default = "Forbidden: bot was blocked by the user"
        self._refused[chat_id] = (status, description or default)

    # -- what users do ----------------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its `update_id` is set here) and wake the long poll."""
        update_id = next(self._update_ids)
        async with self._changed:
            self._updates.append({"update_id": update_id, **update})
            self._changed.notify_all()
        return update_id

    async def write(
        self, user_id: int, text: str, *, chat_id: int | None = None, language: str | None = "en"
    ) -> int:
        """`user_id` writes `text` in their private chat (or in group `chat_id`)."""
        if chat_id is None or chat_id == user_id:
            self._reachable.add(user_id)
        else:
            self._groups.add(chat_id)
        message = self._incoming(user_id, chat_id, language)
        message["text"] = text
        return await self.push({"message": message})

    async def upload(
        self,
        user_id: int,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "text/csv",
        language: str | None = "en",
    ) -> int:
        """`user_id` sends a document; the file is served under base_file_url."""
        file_id = f"doc-{next(self._file_ids)}"
        self._files[file_id] = (f"documents/{file_name}", data)
        self._reachable.add(user_id)
        message = self._incoming(user_id, None, language)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        if caption is not None:
            message["caption"] = caption
        return await self.push({"message": message})

    async def press(
        self, user_id: int, sent: Call, label: str, *, language: str | None = "en"
    ) -> int:
        """`user_id` presses the button `label` of the message `sent` by the bot."""
        assert isinstance(sent.result, dict), f"{sent.method} did not send a message"
        data = dict(sent.buttons).get(label)
        assert data is not None, f"no button {label!r} in {sent.buttons}"
        query = {
            "id": str(next(self._query_ids)),
            "from": self._user(user_id, language),
            "chat_instance": "ci-1",
            "data": data,
            "message": sent.result,
        }
        return await self.push({"callback_query": query})

    # -- what the bot did -------------------------------------------------------------------

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        """Successful calls, optionally of one method and to one chat."""
        return [
            c
            for c in self.calls
            if c.status == 200
            and (method is None or c.method == method)
            and (chat_id is None or c.chat_id == str(chat_id))
        ]

    def texts(self, chat_id: int) -> list[str]:
        """What the bot said in `chat_id`: message texts and captions, in order."""
        out = []
        for call in self.sent(chat_id=chat_id):
            if call.method in ("sendMessage", "sendPhoto", "sendDocument"):
                out.append(str(call.params.get("text") or call.params.get("caption") or ""))
        return out

    def group_sends(self) -> list[str]:
        """Everything the bot showed in groups: texts, captions, file names and file contents."""
        out = []
        for call in self.sent():
            chat = call.chat_id
            if call.method in _SENDING and chat is not None and chat.startswith("-"):
                media = call.params.get("media")
                caption = media.get("caption") if isinstance(media, dict) else None
                out.append(str(call.params.get("text") or call.params.get("caption") or ""))
                out.append(str(caption or ""))
                for name, data in call.files.values():
                    out.append(f"{name}\n{data.decode('utf-8', errors='replace')}")
        return out

    def photo_of(self, chat_id: int, message_id: int) -> bytes | None:
        """The picture message `message_id` shows now (None: no photo, or deleted)."""
        sent = self._sent.get((chat_id, message_id))
        return sent.media if sent is not None and "photo" in sent.body else None

    def photo_messages(self, chat_id: int) -> list[int]:
        """The ids of the messages in `chat_id` that show a photo now, oldest first."""
        return sorted(
            message_id
            for (chat, message_id), sent in self._sent.items()
            if chat == chat_id and "photo" in sent.body
        )

    def buttons_of(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The reply markup the message has now (after edits)."""
        return self._sent[(chat_id, message_id)].markup

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Until `predicate()` holds, checked after every call."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(predicate)

    # -- HTTP -------------------------------------------------------------------------------

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return self._error(404, "Not Found")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._parse(request)
        if time.monotonic() < self._outage_until:
            # What a proxy in front of an unreachable Bot API answers: no JSON body.
            gateway = web.Response(status=502, text="<html>502 Bad Gateway</html>")
            return await self._record(method, params, files, gateway)
        if request.match_info["token"] != self.token or method not in _IMPLEMENTED:
            self.unexpected.append(f"{method} {params}")
            return await self._record(method, params, files, self._error(404, "Not Found"))
        failure = self._failure_for(method, params)
        if failure is not None:
            return await self._record(method, params, files, failure)
        try:
            result = await getattr(self, f"_m_{method}")(params, files)
        except _ApiError as exc:
            return await self._record(method, params, files, self._error(exc.status, exc.text))
        return await self._record(method, params, files, self._ok(result), result)

    async def _parse(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params = dict(await request.json())
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            elif key in _JSON_PARAMS:
                params[key] = json.loads(str(value))
            else:
                params[key] = str(value)
        return params, files

    async def _record(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, tuple[str, bytes]],
        response: web.Response,
        result: Any = None,
    ) -> web.Response:
        if method != "getUpdates" or response.status != 200 or result:
            call = Call(method, params, files, response.status, time.monotonic(), result)
            self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()
        return response

    def _failure_for(self, method: str, params: dict[str, Any]) -> web.Response | None:
        chat = str(params.get("chat_id"))
        if method in _TO_CHAT and chat.lstrip("-").isdigit() and int(chat) in self._refused:
            status, description = self._refused[int(chat)]
            return self._error(status, description)
        if method in _TO_CHAT and chat.lstrip("-").isdigit():
            chat_id = int(chat)
            if chat_id > 0 and chat_id not in self._reachable:
                return self._error(403, "Forbidden: bot can't initiate conversation with a user")
            if chat_id < 0 and chat_id not in self._groups:
                return self._error(400, "Bad Request: chat not found")
        for failure in self._failures:
            if failure.remaining > 0 and method in failure.methods:
                failure.remaining -= 1
                extra = {"retry_after": failure.retry_after} if failure.retry_after else None
                return self._error(failure.status, failure.description, extra)
        return None

    @staticmethod
    def _ok(result: object) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(
        status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored_path, data in self._files.values():
            if stored_path == path and request.match_info["token"] == self.token:
                self.calls.append(Call("download", {"path": path}, {}, 200, time.monotonic()))
                return web.Response(body=data)
        self.unexpected.append(f"GET {request.path}")
        return web.Response(status=404)

    # -- methods ----------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "waops",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout_s = float(params.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout_s > 0 and not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s), self._changed:
                    await self._changed.wait_for(
                        lambda: bool(self._updates) or self._closing.is_set()
                    )
        return self._updates[: int(params.get("limit") or 100)]

    async def _m_deleteWebhook(self, params: dict[str, Any], files: Any) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        for command in params["commands"]:
            name, description = command["command"], command["description"]
            if not (1 <= len(name) <= 32 and name.islower() and 1 <= len(description) <= 256):
                raise _ApiError(400, f"Bad Request: BOT_COMMAND_INVALID {command}")
        return True

    async def _m_close(self, params: dict[str, Any], files: Any) -> bool:
        return True

    async def _m_logOut(self, params: dict[str, Any], files: Any) -> bool:
        return True

    async def _m_sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        if params.get("parse_mode"):
            raise _ApiError(400, "Bad Request: this fake only takes plain text")
        return self._store(params, {"text": text})

    async def _m_sendPhoto(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        if "photo" not in files:
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        self._check_caption(params)
        return self._store(params, {"photo": self._photo()}, files["photo"][1])

    async def _m_sendDocument(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        if "document" not in files:
            raise _ApiError(400, "Bad Request: there is no document in the request")
        self._check_caption(params)
        name, data = files["document"]
        document = {"file_id": "d1", "file_unique_id": "ud1", "file_name": name}
        return self._store(params, {"document": {**document, "file_size": len(data)}}, data)

    async def _m_editMessageText(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        sent = self._find(params)
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        if text == sent.text and markup == sent.markup:
            raise _ApiError(400, "Bad Request: message is not modified: the same content")
        sent.text, sent.markup = text, markup
        return self._message(sent, params)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        sent = self._find(params)
        markup = params.get("reply_markup")
        if markup == sent.markup or (not markup and not sent.markup):
            raise _ApiError(400, "Bad Request: message is not modified: the same reply markup")
        sent.markup = markup
        return self._message(sent, params)

    async def _m_editMessageMedia(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        """Bot API editMessageMedia: "edit animation, audio, document, photo, or video messages,
        or to add media to text messages"; a new file is uploaded as `attach://<name>` under
        that name in the multipart request (InputMediaPhoto, `media`). The message keeps its
        id; the caption is the new media's (up to 1024 characters, as in sendPhoto)."""
        sent = self._find(params)
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") not in _EDITABLE_MEDIA:
            self.unexpected.append(f"editMessageMedia with media {media!r}")
            raise _ApiError(400, "Bad Request: this fake takes a new photo or document only")
        attach = str(media.get("media", ""))
        if not attach.startswith("attach://") or attach.removeprefix("attach://") not in files:
            self.unexpected.append(f"editMessageMedia without the upload it names: {attach!r}")
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if media.get("parse_mode"):
            raise _ApiError(400, "Bad Request: this fake only takes plain text")
        self._check_caption(media)
        data = files[attach.removeprefix("attach://")][1]
        caption, markup = media.get("caption"), params.get("reply_markup")
        if data == sent.media and caption == sent.caption and markup == sent.markup:
            # pyTelegramBotAPI#763 quotes the full answer for an edit that changes nothing.
            raise _ApiError(
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

    async def _m_sendChatAction(self, params: dict[str, Any], files: Any) -> bool:
        if params.get("action") not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: Any) -> bool:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query id is empty")
        return True

    async def _m_getFile(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    # -- helpers ----------------------------------------------------------------------------

    def _check_caption(self, params: dict[str, Any]) -> None:
        if _utf16(str(params.get("caption") or "")) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")

    def _photo(self) -> list[dict[str, Any]]:
        """The PhotoSize list of a new upload (each upload gets its own file_id)."""
        file_id = f"p{next(self._file_ids)}"
        return [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1, "height": 1}]

    def _store(
        self, params: dict[str, Any], content: dict[str, Any], media: bytes | None = None
    ) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        sent = _Sent(
            chat_id,
            content.get("text"),
            params.get("caption"),
            params.get("reply_markup"),
            {k: v for k, v in content.items() if not k.startswith("_")},
            media,
        )
        self._sent[(chat_id, message_id)] = sent
        return self._message(sent, {"message_id": message_id})

    def _find(self, params: dict[str, Any]) -> _Sent:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        if key not in self._sent:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return self._sent[key]

    def _message(self, sent: _Sent, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": _chat(sent.chat_id),
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

    def _incoming(self, user_id: int, chat_id: int | None, language: str | None) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id or user_id, user_id),
            "from": self._user(user_id, language),
        }

    @staticmethod
    def _user(user_id: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language:
            user["language_code"] = language
        return user


class _ApiError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _chat(chat_id: int, user_id: int | None = None) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{user_id or chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": "Ops"}


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
