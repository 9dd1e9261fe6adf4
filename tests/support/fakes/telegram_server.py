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

Files follow the Bot API too (tests/support/fakes/telegram/records.py): uploads over 50 MB are
answered 413, photos over 10 MB refused, captions over 1024 UTF-16 units refused, sendVoice,
sendAudio and sendVideo take only the formats their method pages name, and getFile refuses a
file over 20 MiB. Users send documents, photos, videos, audios and voice notes (`upload`).

`allowed_updates` is recorded but not applied, so tests can check that the adapter ignores
updates it did not ask for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.support.fakes.http_fake import FakeServer
from tests.support.fakes.telegram.bot_api import BotApi, Files
from tests.support.fakes.telegram.records import (
    BOT_ID,
    BOT_USERNAME,
    IMPLEMENTED,
    JSON_PARAMS,
    SENDING,
    TO_CHAT,
    TOKEN,
    ApiError,
    Call,
    Failure,
    user,
)

__all__ = ["BOT_ID", "BOT_USERNAME", "TOKEN", "Call", "FakeTelegram"]


class FakeTelegram(FakeServer):
    """`async with FakeTelegram() as tg:` then give PTB `tg.base_url` and `tg.base_file_url`."""

    platform = "Telegram"

    def __init__(self, *, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.calls: list[Call] = []
        self._api = BotApi(self.unexpected)
        self._query_ids = itertools.count(1)
        self._failures: list[Failure] = []
        self._refused: dict[int, tuple[int, str]] = {}
        self._reachable: set[int] = set()
        self._groups: set[int] = set()
        self._outage_until = 0.0

    # -- set-up -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.origin}/file/bot"

    async def close(self) -> None:
        """Answer the waiting long polls, then stop answering."""
        await self._api.close()
        await super().close()

    def fail(
        self,
        times: int,
        *,
        status: int = 502,
        retry_after: int | None = None,
        methods: frozenset[str] = SENDING,
    ) -> None:
        """The next `times` calls to `methods` fail: 502 Bad Gateway, or 429 with retry_after."""
        description = "Bad Gateway" if status == 502 else f"Error {status}"
        if status == 429:
            description = f"Too Many Requests: retry after {retry_after}"
        self._failures.append(Failure(times, status, description, retry_after, methods))

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
        del self._api.sent[(chat_id, message_id)]

    def refuse(self, chat_id: int, status: int = 403, description: str = "") -> None:
        """Every later send to `chat_id` fails like a chat that blocked the bot (or is gone)."""
        default = "Forbidden: bot was blocked by the user"
        self._refused[chat_id] = (status, description or default)

    # -- what users do ----------------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its `update_id` is set here) and wake the long poll."""
        return await self._api.push(update)

    async def write(
        self, user_id: int, text: str, *, chat_id: int | None = None, language: str | None = "en"
    ) -> int:
        """`user_id` writes `text` in their private chat (or in group `chat_id`)."""
        if chat_id is None or chat_id == user_id:
            self._reachable.add(user_id)
        else:
            self._groups.add(chat_id)
        message = self._api.incoming(user_id, chat_id, language)
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
        kind: str = "document",
        chat_id: int | None = None,
    ) -> int:
        """`user_id` sends a file (in their private chat, or in group `chat_id`); its content
        is served under base_file_url. `kind` is the Message field it arrives in (Bot API
        Message): `document`, `photo` (a list of PhotoSize, no name or mime type, the largest
        last; a smaller thumbnail is served too), `video`, `audio` or `voice`."""
        if chat_id is None or chat_id == user_id:
            self._reachable.add(user_id)
        else:
            self._groups.add(chat_id)
        file_id = self._api.add_file(file_name, data, f"{kind}s")
        message = self._api.incoming(user_id, chat_id, language)
        medium: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
        if kind == "photo":
            thumb = self._api.add_file(f"thumb-{file_name}", data[:64], "photos")
            small = {"file_id": thumb, "file_unique_id": f"u{thumb}", "width": 90, "height": 67}
            large = {**medium, "width": 1280, "height": 960}
            message["photo"] = [
                {**small, "file_size": len(data[:64])},
                {**large, "file_size": len(data)},
            ]
        else:
            if kind in ("video", "audio", "voice"):
                medium["duration"] = 4  # required in Video, Audio and Voice (Bot API)
            if kind == "video":
                medium |= {"width": 640, "height": 360}
            if kind != "voice":
                medium["file_name"] = file_name
            message[kind] = {**medium, "mime_type": mime_type, "file_size": len(data)}
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
            "from": user(user_id, language),
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
            if call.method in SENDING and call.method.startswith("send"):
                out.append(str(call.params.get("text") or call.params.get("caption") or ""))
        return out

    def user_files(self) -> list[str]:
        """The file_ids of what users sent (getFile takes them), oldest first."""
        return list(self._api.files)

    def files_to(self, chat_id: int) -> list[tuple[str, str, bytes, str]]:
        """Files the bot sent to `chat_id`, in order: (method, file name, bytes, caption)."""
        return [
            (call.method, name, data, str(call.params.get("caption") or ""))
            for call in self.sent(chat_id=chat_id)
            if call.method.startswith("send")
            for name, data in call.files.values()
        ]

    def group_sends(self) -> list[str]:
        """Everything the bot showed in groups: texts, captions, file names and file contents."""
        out = []
        for call in self.sent():
            chat = call.chat_id
            if call.method in SENDING and chat is not None and chat.startswith("-"):
                media = call.params.get("media")
                caption = media.get("caption") if isinstance(media, dict) else None
                out.append(str(call.params.get("text") or call.params.get("caption") or ""))
                out.append(str(caption or ""))
                for name, data in call.files.values():
                    out.append(f"{name}\n{data.decode('utf-8', errors='replace')}")
        return out

    def photo_of(self, chat_id: int, message_id: int) -> bytes | None:
        """The picture message `message_id` shows now (None: no photo, or deleted)."""
        sent = self._api.sent.get((chat_id, message_id))
        return sent.media if sent is not None and "photo" in sent.body else None

    def photo_messages(self, chat_id: int) -> list[int]:
        """The ids of the messages in `chat_id` that show a photo now, oldest first."""
        return sorted(
            message_id
            for (chat, message_id), sent in self._api.sent.items()
            if chat == chat_id and "photo" in sent.body
        )

    def buttons_of(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The reply markup the message has now (after edits)."""
        return self._api.sent[(chat_id, message_id)].markup

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Until `predicate()` holds, checked after every call."""
        async with asyncio.timeout(timeout_s), self._api.changed:
            await self._api.changed.wait_for(predicate)

    # -- HTTP -------------------------------------------------------------------------------

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/bot{token}/{method}", self._call)
        router.add_get("/file/bot{token}/{path:.+}", self._download)

    def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, "Not Found")

    async def _call(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._parse(request)
        if time.monotonic() < self._outage_until:
            # What a proxy in front of an unreachable Bot API answers: no JSON body.
            gateway = web.Response(status=502, text="<html>502 Bad Gateway</html>")
            return await self._record(method, params, files, gateway)
        if request.match_info["token"] != self.token or method not in IMPLEMENTED:
            self.unexpected.append(f"{method} {params}")
            return await self._record(method, params, files, self._error(404, "Not Found"))
        failure = self._failure_for(method, params)
        if failure is not None:
            return await self._record(method, params, files, failure)
        try:
            result = await self._api.answer(method, params, files)
        except ApiError as exc:
            return await self._record(method, params, files, self._error(exc.status, exc.text))
        return await self._record(method, params, files, self._ok(result), result)

    async def _parse(self, request: web.Request) -> tuple[dict[str, Any], Files]:
        params: dict[str, Any] = {}
        files: Files = {}
        if request.content_type == "application/json":
            params = dict(await request.json())
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            elif key in JSON_PARAMS:
                params[key] = json.loads(str(value))
            else:
                params[key] = str(value)
        return params, files

    async def _record(
        self,
        method: str,
        params: dict[str, Any],
        files: Files,
        response: web.Response,
        result: Any = None,
    ) -> web.Response:
        if method != "getUpdates" or response.status != 200 or result:
            call = Call(method, params, files, response.status, time.monotonic(), result)
            self.calls.append(call)
        async with self._api.changed:
            self._api.changed.notify_all()
        return response

    def _failure_for(self, method: str, params: dict[str, Any]) -> web.Response | None:
        chat = str(params.get("chat_id"))
        if method in TO_CHAT and chat.lstrip("-").isdigit() and int(chat) in self._refused:
            status, description = self._refused[int(chat)]
            return self._error(status, description)
        if method in TO_CHAT and chat.lstrip("-").isdigit():
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
        for stored_path, data in self._api.files.values():
            if stored_path == path and request.match_info["token"] == self.token:
                self.calls.append(Call("download", {"path": path}, {}, 200, time.monotonic()))
                return web.Response(body=data)
        self.unexpected.append(f"GET {request.path}")
        return web.Response(status=404)
