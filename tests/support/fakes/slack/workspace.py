"""The fake Slack workspace: its conversations, the messages and files in them, and the Web
API methods that change them (`handlers`), each with the refusals its method page documents."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from tests.support.fakes.slack.blocks import MessageRules
from tests.support.fakes.slack.records import (
    BOT_USER,
    IMAGE_TYPES,
    UPLOAD_CHANNEL_RE,
    USER_RE,
    Conversation,
    Message,
    Refused,
    Upload,
    unsafe_mrkdwn,
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Workspace:
    """One workspace (`team_id`, optionally in an Enterprise Grid org) as the bot sees it."""

    def __init__(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        scopes: frozenset[str],
        clock: Callable[[], float],
        file_processing_s: float,
        base_url: Callable[[], str],
        unexpected: list[str],
    ) -> None:
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.scopes = scopes
        self.clock = clock
        self.file_processing_s = file_processing_s
        self.base_url = base_url
        self.messages: list[Message] = []
        self.deleted: list[Message] = []
        self.uploads: list[Upload] = []
        self.rules = MessageRules(self.uploads, clock, unexpected)
        self.conversations: dict[str, Conversation] = {
            "C1": Conversation("C1", "public", {BOT_USER}, everyone=True),
            # U1's DM with the bot under the short id the chat-ops tests write in. Files need an
            # id of Slack's real shape, which conversations.open hands out (D0...).
            "D1": Conversation("D1", "im", {"U1", BOT_USER}),
        }
        self.dms: dict[str, str] = {}
        """The DM channel conversations.open gave, by user."""
        self.pending_files: dict[str, tuple[str, int, bytes | None]] = {}
        """Files between files.getUploadURLExternal and completion: name, length, content."""
        self.shared_files: dict[str, bytes] = {}
        """Files people shared with the bot, by id."""
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        """A fresh number for an id (files, response_urls, envelopes share the count)."""
        return next(self._ids)

    def kind_of(self, channel: str) -> str:
        conversation = self.conversations.get(channel)
        return conversation.kind if conversation else "unknown"

    def handlers(self) -> dict[str, Handler]:
        """The Web API methods by name."""
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "conversations.open": self.conversations_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
        }

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

    def writable(self, channel: str) -> Conversation:
        """The conversation the bot may post to (chat.postMessage errors `channel_not_found`,
        `not_in_channel`; only `chat:write.public` lets a bot post in a public channel it is not
        in: docs.slack.dev, chat.postMessage and the chat:write.public scope)."""
        conversation = self.conversations.get(channel)
        if conversation is None:
            # The fake does not model posting to a user id as `channel`: waops opens the DM.
            raise Refused("channel_not_found")
        if BOT_USER not in conversation.members:
            public_ok = conversation.kind == "public" and "chat:write.public" in self.scopes
            if not public_ok:
                raise Refused(
                    "not_in_channel" if conversation.kind == "public" else "channel_not_found"
                )
        return conversation

    @staticmethod
    def blocks(params: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = params.get("blocks", [])
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        self.rules.check_text(params.get("text"), params.get("blocks", []))
        self.writable(channel)
        message = Message(channel, self.next_ts(), params["text"], self.blocks(params))
        self.messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": {"text": message.text}}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.postEphemeral: only `user` sees it, and "the user should be in the channel"
        (errors `channel_not_found`, `user_not_in_channel`: docs.slack.dev)."""
        channel, user = str(params.get("channel", "")), str(params.get("user", ""))
        self.rules.check_text(params.get("text"), params.get("blocks", []))
        conversation = self.conversations.get(channel)
        if conversation is None:
            raise Refused("channel_not_found")
        if not conversation.has(user):
            raise Refused("user_not_in_channel")
        blocks = self.blocks(params)
        message = Message(channel, self.next_ts(), params["text"], blocks, ephemeral_to=user)
        self.messages.append(message)
        return {"message_ts": message.ts}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.update edits a message the bot posted; ephemeral messages can only be replaced
        through their response_url, so they are `message_not_found` here."""
        self.rules.check_text(params.get("text"), params.get("blocks", []))
        for message in self.messages:
            if message.channel == params.get("channel") and message.ts == params.get("ts"):
                if message.ephemeral_to is not None:
                    break
                old_images = {b.get("block_id") for b in message.blocks if b.get("type") == "image"}
                new_ids = {b.get("block_id") for b in self.blocks(params) if "block_id" in b}
                if old_images & new_ids - {None}:
                    # Block Kit reference, image block: "block_id should be unique for each
                    # message and each iteration of a message. If a message is updated, use a
                    # new block_id."
                    raise Refused("invalid_blocks: an updated image keeps its old block_id")
                message.history.append((message.text, message.blocks))
                message.text, message.blocks = params["text"], self.blocks(params)
                return {"channel": message.channel, "ts": message.ts}
        raise Refused("message_not_found")

    def conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.open with `users` (one id) opens or resumes that person's DM."""
        users = str(params.get("users", ""))
        if not users or "," in users:
            raise Refused("invalid_arguments: waops opens one DM at a time")
        if not USER_RE.match(users):
            raise Refused("user_not_found")
        if users not in self.dms:
            channel = f"D0{len(self.dms) + 1:08d}"
            self.dms[users] = channel
            self.conversations[channel] = Conversation(channel, "im", {users, BOT_USER})
        return {"channel": {"id": self.dms[users]}}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename or not str(length).isdigit():
            raise Refused("invalid_arguments")
        file_id = self.file_id()
        self.pending_files[file_id] = (str(filename), int(str(length)), None)
        return {"upload_url": f"{self.base_url()}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(params.get("files", "[]"))
        channel = str(params.get("channel_id", "")) or None
        comment = params.get("initial_comment")
        if not files or (channel is not None and not UPLOAD_CHANNEL_RE.match(channel)):
            raise Refused(
                "invalid_arguments",
                response_metadata={
                    "messages": [
                        "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ "
                        "[json-pointer:/channel_id]"
                    ]
                },
            )
        if channel is not None:
            self.writable(channel)
        if comment is not None and unsafe_mrkdwn(comment):
            raise Refused(f"unescaped_mrkdwn in initial_comment {comment!r}")
        done = []
        for entry in files:
            filename, _, data = self.pending_files.pop(entry["id"], ("", 0, None))
            if data is None:
                raise Refused(f"invalid_arguments: file {entry['id']} was never uploaded")
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
            raise Refused("file_not_found")
        extension = upload.filename.rpartition(".")[2].lower()
        ready = self.clock() >= upload.ready_at_s
        shared = [upload.channel] if upload.channel else []
        return {
            "file": {
                "id": upload.file_id,
                "name": upload.filename,
                "title": upload.title,
                "mimetype": IMAGE_TYPES.get(extension, "text/plain") if ready else "",
                "filetype": extension if ready else "",
                "size": len(upload.data),
                "user": BOT_USER,
                "is_public": False,
                "url_private": f"{self.base_url()}/files-pri/{file_id}/{upload.filename}",
                "channels": [c for c in shared if c.startswith("C")],
                "ims": [c for c in shared if c.startswith("D")],
                "groups": [c for c in shared if c.startswith("G")],
            }
        }

    def file_id(self) -> str:
        """A file id of Slack's shape (image blocks refuse others: python-slack-sdk#1521)."""
        return f"F{self.next_id():010d}"

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"
