"""A small fake of the Slack Web API (and Socket Mode) on 127.0.0.1 for tests.

It implements what waops uses: auth.test, chat.postMessage, chat.postEphemeral, chat.update,
conversations.open, the three steps of files_upload_v2 (files.getUploadURLExternal, the upload
to the returned URL, files.completeUploadExternal), files.info, `response_url`s of slash
commands and button presses, downloads of files shared with the bot (`url_private_download`) and
apps.connections.open with a WebSocket that pushes envelopes and records their acks.

It models one workspace (`team_id`, optionally an Enterprise Grid org) with its conversations:
by default `C1`, a public channel every member and the bot are in (like #general); others are
added with `add_channel`, and `conversations.open` opens one DM per user. The bot token holds
the scopes of deploy/slack-app-manifest.yml, so a method needing a scope the manifest does not
ask for fails with `missing_scope`. Every message records where it went and who can see it
(`Message.ephemeral_to`), so tests can check that nothing private reached a shared channel.

Files: one completed without `channel_id` is private, seen by nobody but the bot ("If not
specified the file will be private": files.completeUploadExternal), until a message shows it in
an image block (`slack_file`). Slack finishes uploads asynchronously: for `file_processing_s`
after completeUploadExternal a file's files.info has an empty `mimetype` and an image block
naming it is refused with `invalid_blocks` "invalid slack file" (slackapi/java-slack-sdk#1349,
slackapi/python-slack-sdk#1658 and #1797, slackapi/slack-github-action#413). A message can be
deleted (`delete_message`, as an admin or a retention policy does); chat.update answers
`message_not_found` for it then (chat.update, Errors).

Every call is recorded; failures can be queued per method. A request waops should never make (a
wrong token, an unescaped mrkdwn text, a block over Slack's limits, a missing scope, a file
shared to something that is not a channel id) is answered with Slack's error and recorded in
`unexpected`, which `assert_no_unexpected()` checks. Refusals that depend on the workspace
(`channel_not_found`, `not_in_channel`, `user_not_in_channel`, a used-up `response_url`) are
answered the same way but are not unexpected: waops is meant to handle them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiohttp import WSMsgType, web

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
BOT_USER = "UBOT"
TEAM = "T0FAKE"
# What may follow `<` or `&` in mrkdwn that waops writes: mentions and the three entities.
_SAFE_TOKENS = re.compile(r"<@[A-Z0-9]+>|&(amp|lt|gt);")
# files.completeUploadExternal validates `channel_id` against this JSON-schema pattern and
# answers `invalid_arguments` otherwise, so a user id (U...) is refused: slackapi/bolt-js#2115.
_UPLOAD_CHANNEL_RE = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")
_USER_RE = re.compile(r"^[UW][A-Z0-9]+$")
# An image block's slack_file id must match this, else `invalid_blocks` (the error Slack gave in
# slackapi/python-slack-sdk#1521: "input must match regex pattern: ^[F][A-Z0-9]{8,}$").
_FILE_ID_RE = re.compile(r"^[F][A-Z0-9]{8,}$")
# Block Kit reference, Slack file object: "Currently only png, jpg, jpeg, and gif".
_IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}
# Block Kit reference, image block: alt_text and title up to 2000 characters, block_id 255.
_ALT_TEXT_LIMIT = 2000
_BLOCK_ID_LIMIT = 255
# Bot-token scopes per method, from each method's page on docs.slack.dev ("Scopes").
_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "download": "files:read",
}
# "You can use a response_url up to five times within 30 minutes" (Slack: Handling user
# interaction > Message responses).
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60
MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack-app-manifest.yml"
_UNEXPECTED_ERRORS = ("missing_scope", "invalid_arguments", "unescaped", "invalid_blocks", "no_")


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes the app manifest asks for (`oauth_config.scopes.bot`)."""
    scopes: set[str] = set()
    inside = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("bot:"):
            inside = True
        elif inside and stripped.startswith("- "):
            scopes.add(stripped[2:].strip())
        elif inside and stripped and not stripped.startswith("#"):
            inside = False
    return frozenset(scopes)


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
    error: str | None = None


@dataclass
class Conversation:
    """A channel, private channel or DM of the workspace, and who is in it."""

    id: str
    kind: Literal["public", "private", "im"]
    members: set[str] = field(default_factory=set)
    everyone: bool = False
    """Every member of the workspace is in it (like #general)."""

    def has(self, user: str) -> bool:
        return (self.everyone and user != BOT_USER) or user in self.members


@dataclass
class Message:
    """A posted message as it stands now, with what it looked like before each update.

    `ephemeral_to` is the one user who sees it (chat.postEphemeral, or a response_url answer
    that is not `in_channel`); None means everyone in `channel`.
    """

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    history: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    ephemeral_to: str | None = None

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

    @property
    def image_files(self) -> list[str]:
        """The ids of the Slack files its image blocks show now."""
        return [
            str(b["slack_file"]["id"])
            for b in self.blocks
            if b.get("type") == "image" and "id" in b.get("slack_file", {})
        ]


@dataclass(frozen=True)
class Upload:
    """A file completed with files.completeUploadExternal: shared in `channel`, or private
    (None); Slack is done processing it at `ready_at_s` (the fake's clock)."""

    file_id: str
    filename: str
    title: str
    data: bytes
    channel: str | None
    initial_comment: str | None
    ready_at_s: float = 0.0


@dataclass
class _Hook:
    """A response_url: bound to a channel and a user, and to the message pressed (if any)."""

    channel: str
    user: str
    created_s: float
    original: Message | None
    uses: int = 0


class _Refused(Exception):
    def __init__(self, error: str, **extra: object) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _unsafe_mrkdwn(text: str) -> bool:
    return any(char in _SAFE_TOKENS.sub("", text) for char in "<>&")


class FakeSlack:
    """`async with FakeSlack() as fake:`, then give `fake.api_url` to the Slack client."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = TEAM,
        enterprise_id: str | None = None,
        scopes: frozenset[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        file_processing_s: float = 0.2,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.scopes = manifest_scopes() if scopes is None else scopes
        self.clock = clock
        self.file_processing_s = file_processing_s
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        self.messages: list[Message] = []
        self.deleted: list[Message] = []
        self.uploads: list[Upload] = []
        self.acks: list[dict[str, Any]] = []
        self.conversations: dict[str, Conversation] = {
            "C1": Conversation("C1", "public", {BOT_USER}, everyone=True),
            # U1's DM with the bot under the short id the chat-ops tests write in. Files need an
            # id of Slack's real shape, which conversations.open hands out (D0...).
            "D1": Conversation("D1", "im", {"U1", BOT_USER}),
        }
        self._dms: dict[str, str] = {}
        self._hooks: dict[str, _Hook] = {}
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

    # the workspace

    def add_channel(
        self,
        channel: str,
        *,
        private: bool = False,
        members: tuple[str, ...] = (),
        bot: bool = True,
        everyone: bool = False,
    ) -> Conversation:
        """A channel (public, or private with `private`), its members and whether the bot is in."""
        people = set(members) | ({BOT_USER} if bot else set())
        conversation = Conversation(channel, "private" if private else "public", people, everyone)
        self.conversations[channel] = conversation
        return conversation

    def dm_of(self, user: str) -> str | None:
        """The DM channel id conversations.open gave for `user`, if it was opened."""
        return self._dms.get(user)

    def dm_for(self, user: str) -> str:
        """`user` opens the app's Messages tab: their DM with the bot (the id it will keep)."""
        return str(self._conversations_open({"users": user})["channel"]["id"])

    def response_url(self, channel: str, user: str, original: Message | None = None) -> str:
        """A response_url as Slack puts in a slash command (or, with `original`, a press)."""
        hook_id = f"{next(self._ids)}"
        self._hooks[hook_id] = _Hook(channel, user, self.clock(), original)
        return f"{self.base_url}/commands/{self.team_id}/{hook_id}/secret"

    def delete_message(self, message: Message) -> None:
        """`message` is deleted (by a workspace admin, or a retention policy)."""
        self.messages.remove(message)
        self.deleted.append(message)

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls to `method` fail like this, in order; then it works again."""
        self._failures[method].extend(failures)

    def share_file(self, name: str, data: bytes) -> dict[str, Any]:
        """Someone shares a file with the bot: the `files` entry of its message event."""
        file_id = self._file_id()
        self._shared_files[file_id] = data
        return {
            "id": file_id,
            "name": name,
            "size": len(data),
            "mimetype": "text/csv",
            "url_private_download": f"{self.base_url}/files-pri/T0FAKE-{file_id}/download/{name}",
        }

    # what the bot did

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def upload(self, file_id: str) -> Upload:
        return next(upload for upload in self.uploads if upload.file_id == file_id)

    def where_shown(self, file_id: str) -> set[str]:
        """The conversations where anyone but the bot can see file `file_id`: where it was
        shared, and where a message shows it in an image block."""
        shared = {u.channel for u in self.uploads if u.file_id == file_id and u.channel}
        return shared | {m.channel for m in self.messages if file_id in m.image_files}

    def in_channel(self, channel: str) -> list[Message]:
        """Every message shown in `channel`, including those only one person sees there."""
        return [message for message in self.messages if message.channel == channel]

    def kind_of(self, channel: str) -> str:
        conversation = self.conversations.get(channel)
        return conversation.kind if conversation else "unknown"

    def shared_texts(self) -> list[str]:
        """What everyone in a channel (not a DM) can read: texts of messages that are not
        ephemeral, and comments, names and contents of files shared there."""
        shown = [
            m for m in self.messages if m.ephemeral_to is None and self.kind_of(m.channel) != "im"
        ]
        texts = [f"{m.text}\n{m.section_text}\n{m.context_text}" for m in shown]
        in_channels = {file_id for m in shown for file_id in m.image_files}
        for upload in self.uploads:
            shared = upload.channel is not None and self.kind_of(upload.channel) != "im"
            if shared or upload.file_id in in_channels:
                content = upload.data.decode("utf-8", errors="replace")
                texts.append(f"{upload.initial_comment or ''}\n{upload.filename}\n{content}")
        return texts

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
        for method in (*self._handlers(), "apps.connections.open"):
            app.router.add_post(f"/api/{method}", self._api)
        # files.info's method page: "Method Access: GET" (slack_sdk calls it so).
        app.router.add_get("/api/files.info", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/commands/{team}/{hook}/{secret}", self._respond)
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

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "conversations.open": self._conversations_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
        }

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

    def _refusal(self, method: str, params: dict[str, Any], exc: _Refused) -> web.Response:
        self.calls.append(Call(method, params, error=exc.error))
        if exc.error.startswith(_UNEXPECTED_ERRORS):
            self.unexpected.append(f"{method}: {exc.error} {params}")
        return web.json_response({"ok": False, "error": exc.error, **exc.extra})

    def _check_scope(self, method: str) -> None:
        needed = _SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            # Slack's answer for a token without the scope a method needs (docs: Scopes).
            provided = ",".join(sorted(self.scopes))
            raise _Refused("missing_scope", needed=needed, provided=provided)

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
        if method == "apps.connections.open":
            self.calls.append(Call(method, params))
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"})
        try:
            self._check_scope(method)
            result = self._handlers()[method](params)
        except _Refused as exc:
            return self._refusal(method, params, exc)
        self.calls.append(Call(method, params))
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
        identity = {
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "waops",
            "team_id": self.team_id,
            "user_id": BOT_USER,
            "bot_id": "BBOT",
        }
        if self.enterprise_id is not None:
            identity["enterprise_id"] = self.enterprise_id
        return identity

    def _check_text(self, text: object, blocks: object) -> None:
        """Why Slack (or a careful reader) would refuse this text and these blocks, if it would."""
        if not isinstance(text, str) or not text:
            raise _Refused("no_text")
        if _unsafe_mrkdwn(text):
            raise _Refused(f"unescaped_mrkdwn in text {text!r}")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            raise _Refused("invalid_blocks")
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        if len(block_ids) != len(set(block_ids)):
            raise _Refused("invalid_blocks: the same block_id twice in one message")
        for index, block in enumerate(blocks):
            kind = block.get("type")
            texts = []
            if kind == "section":
                texts = [block["text"]["text"]]
            elif kind == "context":
                texts = [e["text"] for e in block["elements"] if e["type"] == "mrkdwn"]
            elif kind == "image":
                self._check_image(block, index)
            elif kind != "actions":
                raise _Refused(f"invalid_blocks: type {kind}")
            for piece in texts:
                if len(piece) > SECTION_LIMIT:
                    raise _Refused("invalid_blocks: text over 3000 characters")
                if _unsafe_mrkdwn(piece):
                    raise _Refused(f"unescaped_mrkdwn in block {piece!r}")

    def _check_image(self, block: dict[str, Any], index: int) -> None:
        """An image block as the Block Kit reference describes it: alt_text, and either an
        image_url or a slack_file that is an image the bot may see (by url or by id, never
        both); a file Slack is still processing is refused like an unknown one."""
        alt_text = block.get("alt_text")
        if not isinstance(alt_text, str) or not 0 < len(alt_text) <= _ALT_TEXT_LIMIT:
            raise _Refused("invalid_blocks: an image needs alt_text of 1 to 2000 characters")
        if len(str(block.get("block_id", ""))) > _BLOCK_ID_LIMIT:
            raise _Refused("invalid_blocks: block_id over 255 characters")
        source = block.get("slack_file")
        if ("image_url" in block) == (source is not None):
            raise _Refused("invalid_blocks: an image needs an image_url or a slack_file")
        if source is None:
            return  # a public URL: Slack fetches it, the fake does not
        if not isinstance(source, dict) or ("id" in source) == ("url" in source):
            raise _Refused("invalid_blocks: a slack_file has either an id or a url")
        if "url" in source:
            self.unexpected.append("slack_file by url: waops names files by id")
            raise _Refused("invalid_blocks: slack_file by url is not modelled")
        file_id = str(source["id"])
        if not _FILE_ID_RE.match(file_id):
            raise _Refused(f"invalid_blocks: input must match regex pattern: {_FILE_ID_RE.pattern}")
        upload = next((u for u in self.uploads if u.file_id == file_id), None)
        extension = upload.filename.rpartition(".")[2].lower() if upload else ""
        if upload is None or extension not in _IMAGE_TYPES or self.clock() < upload.ready_at_s:
            raise _Refused(
                "invalid_blocks",
                errors=[f"invalid slack file [json-pointer:/blocks/{index}/slack_file]"],
            )

    def _writable(self, channel: str) -> Conversation:
        """The conversation the bot may post to (chat.postMessage errors `channel_not_found`,
        `not_in_channel`; only `chat:write.public` lets a bot post in a public channel it is not
        in: docs.slack.dev, chat.postMessage and the chat:write.public scope)."""
        conversation = self.conversations.get(channel)
        if conversation is None:
            # The fake does not model posting to a user id as `channel`: waops opens the DM.
            raise _Refused("channel_not_found")
        if BOT_USER not in conversation.members:
            public_ok = conversation.kind == "public" and "chat:write.public" in self.scopes
            if not public_ok:
                raise _Refused(
                    "not_in_channel" if conversation.kind == "public" else "channel_not_found"
                )
        return conversation

    def _blocks(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = params.get("blocks", [])
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        self._check_text(params.get("text"), params.get("blocks", []))
        self._writable(channel)
        message = Message(channel, self._next_ts(), params["text"], self._blocks(params))
        self.messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": {"text": message.text}}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.postEphemeral: only `user` sees it, and "the user should be in the channel"
        (errors `channel_not_found`, `user_not_in_channel`: docs.slack.dev)."""
        channel, user = str(params.get("channel", "")), str(params.get("user", ""))
        self._check_text(params.get("text"), params.get("blocks", []))
        conversation = self.conversations.get(channel)
        if conversation is None:
            raise _Refused("channel_not_found")
        if not conversation.has(user):
            raise _Refused("user_not_in_channel")
        blocks = self._blocks(params)
        message = Message(channel, self._next_ts(), params["text"], blocks, ephemeral_to=user)
        self.messages.append(message)
        return {"message_ts": message.ts}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.update edits a message the bot posted; ephemeral messages can only be replaced
        through their response_url, so they are `message_not_found` here."""
        self._check_text(params.get("text"), params.get("blocks", []))
        for message in self.messages:
            if message.channel == params.get("channel") and message.ts == params.get("ts"):
                if message.ephemeral_to is not None:
                    break
                old_images = {b.get("block_id") for b in message.blocks if b.get("type") == "image"}
                new_ids = {b.get("block_id") for b in self._blocks(params) if "block_id" in b}
                if old_images & new_ids - {None}:
                    # Block Kit reference, image block: "block_id should be unique for each
                    # message and each iteration of a message. If a message is updated, use a
                    # new block_id."
                    raise _Refused("invalid_blocks: an updated image keeps its old block_id")
                message.history.append((message.text, message.blocks))
                message.text, message.blocks = params["text"], self._blocks(params)
                return {"channel": message.channel, "ts": message.ts}
        raise _Refused("message_not_found")

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.open with `users` (one id) opens or resumes that person's DM."""
        users = str(params.get("users", ""))
        if not users or "," in users:
            raise _Refused("invalid_arguments: waops opens one DM at a time")
        if not _USER_RE.match(users):
            raise _Refused("user_not_found")
        if users not in self._dms:
            channel = f"D0{len(self._dms) + 1:08d}"
            self._dms[users] = channel
            self.conversations[channel] = Conversation(channel, "im", {users, BOT_USER})
        return {"channel": {"id": self._dms[users]}}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename or not str(length).isdigit():
            raise _Refused("invalid_arguments")
        file_id = self._file_id()
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
        if _SCOPES["download"] not in self.scopes:
            self.unexpected.append(f"download of {file_id} without files:read")
            return web.Response(status=403, text="forbidden", content_type="text/plain")
        return web.Response(body=self._shared_files[file_id], content_type="text/csv")

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(params.get("files", "[]"))
        channel = str(params.get("channel_id", "")) or None
        comment = params.get("initial_comment")
        if not files or (channel is not None and not _UPLOAD_CHANNEL_RE.match(channel)):
            raise _Refused(
                "invalid_arguments",
                response_metadata={
                    "messages": [
                        "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ "
                        "[json-pointer:/channel_id]"
                    ]
                },
            )
        if channel is not None:
            self._writable(channel)
        if comment is not None and _unsafe_mrkdwn(comment):
            raise _Refused(f"unescaped_mrkdwn in initial_comment {comment!r}")
        done = []
        for entry in files:
            filename, _, data = self._pending_files.pop(entry["id"], ("", 0, None))
            if data is None:
                raise _Refused(f"invalid_arguments: file {entry['id']} was never uploaded")
            title = str(entry.get("title") or filename)
            ready_at_s = self.clock() + self.file_processing_s
            upload = Upload(entry["id"], filename, title, data, channel, comment, ready_at_s)
            self.uploads.append(upload)
            done.append({"id": entry["id"], "title": title})
        return {"files": done}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """files.info: the file object; `mimetype` (and `filetype`) stay empty while Slack is
        still processing the upload (java-slack-sdk#1349: "These are populated when the file
        is ready")."""
        file_id = str(params.get("file", ""))
        upload = next((u for u in self.uploads if u.file_id == file_id), None)
        if upload is None:
            raise _Refused("file_not_found")
        extension = upload.filename.rpartition(".")[2].lower()
        ready = self.clock() >= upload.ready_at_s
        shared = [upload.channel] if upload.channel else []
        return {
            "file": {
                "id": upload.file_id,
                "name": upload.filename,
                "title": upload.title,
                "mimetype": _IMAGE_TYPES.get(extension, "text/plain") if ready else "",
                "filetype": extension if ready else "",
                "size": len(upload.data),
                "user": BOT_USER,
                "is_public": False,
                "url_private": f"{self.base_url}/files-pri/{file_id}/{upload.filename}",
                "channels": [c for c in shared if c.startswith("C")],
                "ims": [c for c in shared if c.startswith("D")],
                "groups": [c for c in shared if c.startswith("G")],
            }
        }

    async def _respond(self, request: web.Request) -> web.Response:
        """A POST to a response_url: an ephemeral answer (default) or `in_channel`, or with
        `replace_original` an edit of the message whose button was pressed."""
        hook = self._hooks.get(request.match_info["hook"])
        body = await request.json()
        self.calls.append(Call("response_url", dict(body)))
        if hook is None or request.match_info["team"] != self.team_id:
            self.unexpected.append(f"POST {request.path}: not a response_url we gave")
            return web.json_response({"ok": False, "error": "invalid_url"}, status=404)
        if hook.uses >= RESPONSE_URL_USES or self.clock() - hook.created_s > RESPONSE_URL_TTL_S:
            # Slack documents the limit, not the exact refusal; waops falls back either way.
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        try:
            self._check_text(body.get("text"), body.get("blocks", []))
        except _Refused as exc:
            self.unexpected.append(f"response_url: {exc.error}")
            return web.json_response({"ok": False, "error": exc.error}, status=400)
        hook.uses += 1
        blocks = list(body.get("blocks", []))
        if body.get("replace_original") and hook.original is not None:
            original = hook.original
            original.history.append((original.text, original.blocks))
            original.text, original.blocks = body["text"], blocks
            return web.json_response({"ok": True})
        visible = None if body.get("response_type") == "in_channel" else hook.user
        self.messages.append(
            Message(hook.channel, self._next_ts(), body["text"], blocks, [], visible)
        )
        return web.json_response({"ok": True})

    def _file_id(self) -> str:
        """A file id of Slack's shape (image blocks refuse others: python-slack-sdk#1521)."""
        return f"F{next(self._ids):010d}"

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

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
