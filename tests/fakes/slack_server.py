"""A small fake of the Slack Web API (and Socket Mode) on 127.0.0.1 for tests.

It implements what waops uses: auth.test, chat.postMessage, chat.update, the three steps of
files_upload_v2 (files.getUploadURLExternal, the upload to the returned URL,
files.completeUploadExternal), downloads of files shared with the bot (`url_private_download`)
and apps.connections.open with a WebSocket that pushes envelopes and records their acks.
Every call is recorded; failures can be queued per method; anything else, a wrong token, an
unescaped mrkdwn text or a block over Slack's limits is answered with an error and recorded in
`unexpected`, which `assert_no_unexpected()` checks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
# What may follow `<` or `&` in mrkdwn that waops writes: mentions and the three entities.
_SAFE_TOKENS = re.compile(r"<@[A-Z0-9]+>|&(amp|lt|gt);")


@dataclass(frozen=True)
class Failure:
    """How the next call to a method fails."""

    status: int = 200
    error: str | None = None
    retry_after_s: int | None = None
    body: str | None = None

    @classmethod
    def ratelimited(cls, retry_after_s: int) -> Failure:
        return cls(status=429, error="ratelimited", retry_after_s=retry_after_s)

    @classmethod
    def http(cls, status: int) -> Failure:
        """A gateway error with an HTML body, as a proxy in front of Slack sends it."""
        return cls(status=status, body=f"<html><body>{status} Bad Gateway</body></html>")

    @classmethod
    def api(cls, error: str) -> Failure:
        """HTTP 200 with `ok: false`, Slack's way of saying no (`channel_not_found`, ...)."""
        return cls(error=error)


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    failed: Failure | None = None


@dataclass
class Message:
    """A posted message as it stands now, with what it looked like before each update."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    history: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b.get("type") == "actions" for e in b["elements"]]

    @property
    def section_text(self) -> str:
        return "\n".join(b["text"]["text"] for b in self.blocks if b.get("type") == "section")

    @property
    def context_text(self) -> str:
        return "\n".join(
            e["text"] for b in self.blocks if b.get("type") == "context" for e in b["elements"]
        )


@dataclass(frozen=True)
class Upload:
    """A file shared in a channel through files.completeUploadExternal."""

    file_id: str
    filename: str
    title: str
    data: bytes
    channel: str
    initial_comment: str | None


def _unsafe_mrkdwn(text: str) -> bool:
    return any(char in _SAFE_TOKENS.sub("", text) for char in "<>&")


class FakeSlack:
    """`async with FakeSlack() as fake:`, then give `fake.api_url` to the Slack client."""

    def __init__(self, *, bot_token: str = "xoxb-test", app_token: str = "xapp-test") -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        self.messages: list[Message] = []
        self.uploads: list[Upload] = []
        self.acks: list[dict[str, Any]] = []
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._pending_files: dict[str, tuple[str, int, bytes | None]] = {}
        self._shared_files: dict[str, bytes] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._waiting_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL (WAOPS_SLACK_API_URL)."""
        return f"{self.base_url}/api/"

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls to `method` fail like this, in order; then it works again."""
        self._failures[method].extend(failures)

    def share_file(self, name: str, data: bytes) -> dict[str, Any]:
        """Someone shares a file with the bot: the `files` entry of its message event."""
        file_id = f"F{next(self._ids):06d}"
        self._shared_files[file_id] = data
        return {
            "id": file_id,
            "name": name,
            "size": len(data),
            "mimetype": "text/csv",
            "url_private_download": f"{self.base_url}/files-pri/T0FAKE-{file_id}/download/{name}",
        }

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def in_channel(self, channel: str) -> list[Message]:
        return [message for message in self.messages if message.channel == channel]

    def assert_no_unexpected(self) -> None:
        assert not self.unexpected, f"unexpected requests to the fake Slack: {self.unexpected}"

    # Socket Mode

    async def wait_socket(self, timeout_s: float = 5.0) -> None:
        """Until a Socket Mode client is connected."""
        await asyncio.wait_for(self._socket_ready.wait(), timeout_s)

    async def push(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`); its id."""
        assert self._socket is not None, "no Socket Mode client connected"
        envelope_id = f"env-{next(self._ids)}"
        self._waiting_acks[envelope_id] = asyncio.get_running_loop().create_future()
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        await self._socket.send_str(json.dumps(envelope))
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """The ack the client sent for `envelope_id`."""
        return await asyncio.wait_for(self._waiting_acks[envelope_id], timeout_s)

    # the server

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        for method in (
            "auth.test",
            "chat.postMessage",
            "chat.update",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
            "apps.connections.open",
        ):
            app.router.add_post(f"/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._websocket)
        app.router.add_get("/files-pri/T0FAKE-{file_id}/download/{name}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop answering: later calls fail to connect."""
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        for waiting in self._waiting_acks.values():
            waiting.cancel()

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(dict(await request.post()))
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.path.removeprefix("/api/")
        params = await self._params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            self.unexpected.append(f"{method} with token {token!r}")
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self._failures[method]:
            failure = self._failures[method].popleft()
            self.calls.append(Call(method, params, failure))
            return self._failure(failure)
        self.calls.append(Call(method, params))
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "apps.connections.open": self._connections_open,
        }[method]
        result = handler(params)
        if "error" in result:
            self.unexpected.append(f"{method}: {result['error']} {params}")
            return web.json_response({"ok": False, **result})
        return web.json_response({"ok": True, **result})

    @staticmethod
    def _failure(failure: Failure) -> web.Response:
        headers = {}
        if failure.retry_after_s is not None:
            headers["Retry-After"] = str(failure.retry_after_s)
        if failure.body is not None:
            return web.Response(
                status=failure.status, text=failure.body, content_type="text/html", headers=headers
            )
        body = {"ok": False, "error": failure.error}
        return web.json_response(body, status=failure.status, headers=headers)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "waops",
            "team_id": "T0FAKE",
            "user_id": "UBOT",
            "bot_id": "BBOT",
        }

    def _check_text(self, text: object, blocks: object) -> str | None:
        """Why Slack (or a careful reader) would refuse this text and these blocks, if it would."""
        if not isinstance(text, str) or not text:
            return "no_text"
        if _unsafe_mrkdwn(text):
            return f"unescaped_mrkdwn in text {text!r}"
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        for block in blocks:
            kind = block.get("type")
            texts = []
            if kind == "section":
                texts = [block["text"]["text"]]
            elif kind == "context":
                texts = [e["text"] for e in block["elements"] if e["type"] == "mrkdwn"]
            elif kind != "actions":
                return f"invalid_blocks: type {kind}"
            for piece in texts:
                if len(piece) > SECTION_LIMIT:
                    return "invalid_blocks: text over 3000 characters"
                if _unsafe_mrkdwn(piece):
                    return f"unescaped_mrkdwn in block {piece!r}"
        return None

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        problem = self._check_text(params.get("text"), params.get("blocks", []))
        if not channel or problem:
            return {"error": problem or "channel_not_found"}
        blocks = params.get("blocks", [])
        message = Message(channel, f"1700000000.{next(self._ts):06d}", params["text"], blocks)
        self.messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": {"text": message.text}}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        problem = self._check_text(params.get("text"), params.get("blocks", []))
        if problem:
            return {"error": problem}
        for message in self.messages:
            if message.channel == params.get("channel") and message.ts == params.get("ts"):
                message.history.append((message.text, message.blocks))
                message.text, message.blocks = params["text"], params.get("blocks", [])
                return {"channel": message.channel, "ts": message.ts}
        return {"error": "message_not_found"}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename or not str(length).isdigit():
            return {"error": "invalid_arguments"}
        file_id = f"F{next(self._ids):06d}"
        self._pending_files[file_id] = (str(filename), int(str(length)), None)
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        pending = self._pending_files.get(file_id)
        self.calls.append(Call("upload", {"file_id": file_id, "length": len(data)}))
        if pending is None or pending[1] != len(data):
            self.unexpected.append(f"upload of {file_id}: unknown id or wrong length")
            return web.Response(status=400, text="invalid upload", content_type="text/plain")
        self._pending_files[file_id] = (pending[0], pending[1], data)
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call("download", {"file_id": file_id}))
        if token != self.bot_token or file_id not in self._shared_files:
            self.unexpected.append(f"download of {file_id} with token {token!r}")
            return web.Response(status=404, text="not found", content_type="text/plain")
        return web.Response(body=self._shared_files[file_id], content_type="text/csv")

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(params.get("files", "[]"))
        channel = str(params.get("channel_id", ""))
        comment = params.get("initial_comment")
        if not files or not channel:
            return {"error": "invalid_arguments"}
        if comment is not None and _unsafe_mrkdwn(comment):
            return {"error": f"unescaped_mrkdwn in initial_comment {comment!r}"}
        done = []
        for entry in files:
            filename, _, data = self._pending_files.pop(entry["id"], ("", 0, None))
            if data is None:
                return {"error": f"file {entry['id']} was never uploaded"}
            title = str(entry.get("title") or filename)
            self.uploads.append(Upload(entry["id"], filename, title, data, channel, comment))
            done.append({"id": entry["id"], "title": title})
        return {"files": done}

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/socket"}

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket_ready.set()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            waiting = self._waiting_acks.get(str(data.get("envelope_id")))
            if waiting is None or waiting.done():
                self.unexpected.append(f"socket message {message.data}")
                continue
            self.acks.append(data)
            waiting.set_result(data)
        return socket
