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

import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.support.fakes.http_fake import FakeServer
from tests.support.fakes.slack.records import (
    BOT_USER,
    MANIFEST,
    MAX_BLOCKS,
    SCOPES,
    SECTION_LIMIT,
    TEAM,
    UNEXPECTED_ERRORS,
    Call,
    Conversation,
    Failure,
    Message,
    Refused,
    Upload,
    manifest_scopes,
)
from tests.support.fakes.slack.response_urls import ResponseUrls
from tests.support.fakes.slack.socket_mode import SocketMode
from tests.support.fakes.slack.workspace import Workspace

__all__ = [
    "BOT_USER",
    "MANIFEST",
    "MAX_BLOCKS",
    "SECTION_LIMIT",
    "TEAM",
    "Call",
    "Conversation",
    "Failure",
    "FakeSlack",
    "Message",
    "Upload",
    "manifest_scopes",
]


class FakeSlack(FakeServer):
    """`async with FakeSlack() as fake:`, then give `fake.api_url` to the Slack client."""

    platform = "Slack"

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
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self.workspace = Workspace(
            team_id=team_id,
            enterprise_id=enterprise_id,
            scopes=manifest_scopes() if scopes is None else scopes,
            clock=clock,
            file_processing_s=file_processing_s,
            base_url=lambda: self.base_url,
            unexpected=self.unexpected,
        )
        self.socket_mode = SocketMode(self.workspace.next_id, self.unexpected)
        self.calls: list[Call] = []
        self.response_urls = ResponseUrls(self.workspace, self.calls, self.unexpected)
        self.acks = self.socket_mode.acks
        # The workspace's records, under the names tests read them by.
        self.messages = self.workspace.messages
        self.deleted = self.workspace.deleted
        self.uploads = self.workspace.uploads
        self.conversations = self.workspace.conversations
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def api_url(self) -> str:
        """The Web API base URL (WAOPS_SLACK_API_URL)."""
        return f"{self.base_url}/api/"

    # The workspace's settings, which a test may change after construction.

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @team_id.setter
    def team_id(self, team_id: str) -> None:
        self.workspace.team_id = team_id

    @property
    def enterprise_id(self) -> str | None:
        return self.workspace.enterprise_id

    @enterprise_id.setter
    def enterprise_id(self, enterprise_id: str | None) -> None:
        self.workspace.enterprise_id = enterprise_id

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the bot token holds (by default the manifest's)."""
        return self.workspace.scopes

    @scopes.setter
    def scopes(self, scopes: frozenset[str]) -> None:
        self.workspace.scopes = scopes

    @property
    def clock(self) -> Callable[[], float]:
        return self.workspace.clock

    @property
    def file_processing_s(self) -> float:
        """How long Slack takes to finish an upload (files.info, image blocks wait for it)."""
        return self.workspace.file_processing_s

    @file_processing_s.setter
    def file_processing_s(self, seconds: float) -> None:
        self.workspace.file_processing_s = seconds

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
        return self.workspace.dms.get(user)

    def dm_for(self, user: str) -> str:
        """`user` opens the app's Messages tab: their DM with the bot (the id it will keep)."""
        return str(self.workspace.conversations_open({"users": user})["channel"]["id"])

    def response_url(self, channel: str, user: str, original: Message | None = None) -> str:
        """A response_url as Slack puts in a slash command (or, with `original`, a press)."""
        return self.response_urls.create(channel, user, original)

    def delete_message(self, message: Message) -> None:
        """`message` is deleted (by a workspace admin, or a retention policy)."""
        self.messages.remove(message)
        self.deleted.append(message)

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls to `method` fail like this, in order; then it works again."""
        self._failures[method].extend(failures)

    def share_file(self, name: str, data: bytes, mimetype: str = "text/csv") -> dict[str, Any]:
        """Someone shares a file with the bot: the `files` entry of its message event (the
        file object's `name`, `size`, `mimetype`: docs.slack.dev/reference/objects/file-object)."""
        file_id = self.workspace.file_id()
        self.workspace.shared_files[file_id] = data
        return {
            "id": file_id,
            "name": name,
            "size": len(data),
            "mimetype": mimetype,
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
        return self.workspace.kind_of(channel)

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

    # Socket Mode

    async def wait_socket(self, timeout_s: float = 5.0) -> None:
        """Until a Socket Mode client is connected."""
        await self.socket_mode.wait_socket(timeout_s)

    async def push(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`); its id."""
        return await self.socket_mode.push(
            kind, payload, accepts_response_payload=accepts_response_payload
        )

    async def wait_ack(self, envelope_id: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """The ack the client sent for `envelope_id`."""
        return await self.socket_mode.wait_ack(envelope_id, timeout_s)

    # the server

    def _routes(self, router: web.UrlDispatcher) -> None:
        for method in (*self.workspace.handlers(), "apps.connections.open"):
            router.add_post(f"/api/{method}", self._api)
        # files.info's method page: "Method Access: GET" (slack_sdk calls it so).
        router.add_get("/api/files.info", self._api)
        router.add_post("/upload/{file_id}", self._upload)
        router.add_post("/commands/{team}/{hook}/{secret}", self.response_urls.respond)
        router.add_get("/socket", self.socket_mode.serve)
        router.add_get("/files-pri/T0FAKE-{file_id}/download/{name}", self._download)

    async def close(self) -> None:
        """Stop answering: later calls fail to connect."""
        await self.socket_mode.close_socket()
        await super().close()
        self.socket_mode.cancel_waiting()

    def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(dict(await request.post()))
        return params

    def _refusal(self, method: str, params: dict[str, Any], exc: Refused) -> web.Response:
        self.calls.append(Call(method, params, error=exc.error))
        if exc.error.startswith(UNEXPECTED_ERRORS):
            self.unexpected.append(f"{method}: {exc.error} {params}")
        return web.json_response({"ok": False, "error": exc.error, **exc.extra})

    def _check_scope(self, method: str) -> None:
        needed = SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            # Slack's answer for a token without the scope a method needs (docs: Scopes).
            provided = ",".join(sorted(self.scopes))
            raise Refused("missing_scope", needed=needed, provided=provided)

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
            result = self.workspace.handlers()[method](params)
        except Refused as exc:
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

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        pending = self.workspace.pending_files.get(file_id)
        self.calls.append(Call("upload", {"file_id": file_id, "length": len(data)}))
        if pending is None or pending[1] != len(data):
            self.unexpected.append(f"upload of {file_id}: unknown id or wrong length")
            return web.Response(status=400, text="invalid upload", content_type="text/plain")
        self.workspace.pending_files[file_id] = (pending[0], pending[1], data)
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call("download", {"file_id": file_id}))
        if token != self.bot_token or file_id not in self.workspace.shared_files:
            self.unexpected.append(f"download of {file_id} with token {token!r}")
            return web.Response(status=404, text="not found", content_type="text/plain")
        if SCOPES["download"] not in self.scopes:
            self.unexpected.append(f"download of {file_id} without files:read")
            return web.Response(status=403, text="forbidden", content_type="text/plain")
        return web.Response(body=self.workspace.shared_files[file_id], content_type="text/csv")
