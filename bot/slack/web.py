"""The Slack Web API calls the adapter makes: Block Kit shapes, per-channel pacing, error mapping.

Every call goes through `SlackWeb`, so slack_sdk's exceptions become the channel port's
`ChannelUnavailable` (retry later) and `ChannelRejected` (never) in one place.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.commands.base import ConfirmPrompt
from bot.push.channel import Button, ChannelRejected, ChannelUnavailable
from engine.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

T = TypeVar("T")
Block = dict[str, Any]

SECTION_LIMIT = 3000
"""Longest text of one section block (Slack's limit, counted after escaping)."""
_MAX_BLOCKS = 50
_BUTTON_LABEL_LIMIT = 75
_MAX_BUTTONS = 25
_ALT_TEXT_LIMIT = 2000
_FILE_POLL_FIRST_S = 0.25
_FILE_POLL_MAX_S = 2.0

CONFIRM_ACTION = "waops_confirm"
CANCEL_ACTION = "waops_cancel"
RUN_ACTION_PREFIX = "waops_run_"
RUN_ACTION_RE = re.compile(rf"^{RUN_ACTION_PREFIX}\d+$")

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile("[&<>]")
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "request_timeout", "service_unavailable"}
)
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]+$")


def is_user_id(chat: str) -> bool:
    """`U0123ABCD` (or an Enterprise Grid `W...`): a person, whose DM must be opened first."""
    return bool(_USER_ID_RE.match(chat))


class SlackTokenRejected(Exception):
    """Slack refused the bot token (auth.test): the configuration needs a person."""


def escape(text: str) -> str:
    """Text safe for mrkdwn fields: `&`, `<` and `>` would otherwise start links and mentions."""
    return _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group()], text)


def unescape(text: str) -> str:
    """What Slack sends back (message text in a button press) as the operator wrote it."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escaped_pieces(text: str, limit: int) -> list[str]:
    """`text` escaped and cut so that no piece exceeds `limit` nor splits an entity."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        escaped = _ESCAPES.get(char, char)
        if size + len(escaped) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(escaped)
        size += len(escaped)
    if current:
        pieces.append("".join(current))
    return pieces


def text_blocks(text: str) -> list[Block]:
    """Plain text as mrkdwn sections (verbatim: no auto-linking of names the operator wrote)."""
    pieces = _escaped_pieces(text, SECTION_LIMIT)[: _MAX_BLOCKS - 2] or [" "]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece, "verbatim": True}}
        for piece in pieces
    ]


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:_BUTTON_LABEL_LIMIT], "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def confirm_blocks(prompt: ConfirmPrompt) -> list[Block]:
    """The proposal and its Confirm/Cancel buttons, both carrying the confirmation token."""
    actions = [
        _button(prompt.confirm_label, CONFIRM_ACTION, prompt.token, "primary"),
        _button(prompt.cancel_label, CANCEL_ACTION, prompt.token),
    ]
    return [*text_blocks(prompt.text), {"type": "actions", "elements": actions}]


def command_blocks(text: str, buttons: tuple[Button, ...]) -> list[Block]:
    """Buttons that each run a command as whoever presses them (after `text`, if any)."""
    elements = [
        _button(button.label, f"{RUN_ACTION_PREFIX}{index}", button.command)
        for index, button in enumerate(buttons[:_MAX_BUTTONS])
    ]
    head = text_blocks(text) if text else []
    return [*head, {"type": "actions", "elements": elements}]


def image_blocks(caption: str, file_id: str) -> list[Block]:
    """The caption and an image block showing Slack file `file_id` (slack_file by id).

    The block id names the file: Slack asks for a new block_id in every iteration of an
    updated message (Block Kit reference, image block: `block_id`).
    """
    alt_text = caption.strip()[:_ALT_TEXT_LIMIT] or "image"
    image: Block = {
        "type": "image",
        "block_id": f"image-{file_id}"[:255],
        "slack_file": {"id": file_id},
        "alt_text": alt_text,
    }
    return [*text_blocks(caption), image] if caption.strip() else [image]


def settled_blocks(blocks: list[Block], note: str) -> list[Block]:
    """A message's blocks without its buttons, with a note (already mrkdwn) saying what happened."""
    kept = [block for block in blocks if block.get("type") != "actions"]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]


class ChannelPacer:
    """At most one message per `interval_s` to each channel; a caller waits for its slot.

    The slot is reserved before sleeping, so concurrent senders queue up in order. `clock`
    and `sleep` are injectable so tests run the pacing without waiting.
    """

    def __init__(
        self,
        interval_s: float,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = self._clock.monotonic()
        if len(self._next_slot) > 1000:
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}
        slot = max(now, self._next_slot.get(channel, now))
        self._next_slot[channel] = slot + self.interval_s
        if slot > now:
            await self._sleep(slot - now)


def _retry_after_s(response: AsyncSlackResponse) -> float | None:
    value = response.headers.get("Retry-After") if response.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def map_error(what: str, exc: SlackApiError) -> ChannelUnavailable | ChannelRejected:
    """Rate limits, 5xx and Slack's own hiccups are retried later; anything else is final."""
    response = exc.response
    status = response.status_code
    error = response.data.get("error") if isinstance(response.data, dict) else None
    if error == "ratelimited" or status == 429:
        retry_after_s = _retry_after_s(response)
        return ChannelUnavailable(f"slack {what}: rate limited", retry_after_s=retry_after_s)
    if status >= 500 or error is None or error in _TRANSIENT_ERRORS:
        return ChannelUnavailable(f"slack {what}: HTTP {status} {error or ''}".rstrip())
    return ChannelRejected(f"slack {what}: {error}")


class SlackWeb:
    """Posts, updates and uploads through one `AsyncWebClient`, paced per channel; opens (and
    remembers) people's DMs, answers through response_urls."""

    def __init__(
        self,
        client: AsyncWebClient,
        pacer: ChannelPacer,
        *,
        file_ready_timeout_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self._pacer = pacer
        self._file_ready_timeout_s = file_ready_timeout_s
        self._sleep = sleep
        self._dms: dict[str, str] = {}

    async def open_dm(self, user: str) -> str:
        """The DM channel (`D...`) with `user`, opened once with conversations.open (im:write):
        files can only be shared to a channel id, never to a user id (slackapi/bolt-js#2115)."""
        if (known := self._dms.get(user)) is not None:
            return known
        response = await self._call(
            "conversations.open", self.client.conversations_open(users=user)
        )
        channel = response.get("channel") or {}
        dm = str(channel.get("id", "")) if isinstance(channel, dict) else ""
        if not dm:
            raise ChannelRejected(f"slack conversations.open gave no channel for {user}")
        if len(self._dms) > 4096:
            self._dms.clear()
        self._dms[user] = dm
        return dm

    async def chat_for(self, chat: str) -> str:
        """Where a message for `chat` goes: a person's DM, or the channel itself."""
        return await self.open_dm(chat) if is_user_id(chat) else chat

    async def post_ephemeral(self, channel: str, user: str, text: str, blocks: list[Block]) -> None:
        """chat.postEphemeral: shown to `user` alone, in `channel` (where they must be)."""
        await self._pacer.wait(channel)
        await self._call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral(
                channel=channel, user=user, text=escape(text), blocks=blocks
            ),
        )

    async def respond(
        self, url: str, text: str, blocks: list[Block], *, replace_original: bool = False
    ) -> None:
        """POST to a response_url (ephemeral, or replacing the message a button was on)."""
        session = self.client.session
        if session is None or not self.is_slack_url(url):
            raise ChannelRejected(f"slack response_url is not Slack's: {url[:100]}")
        body: dict[str, Any] = {"text": escape(text), "blocks": blocks}
        if replace_original:
            body["replace_original"] = True
        else:
            body["response_type"] = "ephemeral"
        timeout = aiohttp.ClientTimeout(total=self.client.timeout)
        try:
            async with session.post(url, json=body, timeout=timeout) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ChannelUnavailable(f"slack response_url: {type(exc).__name__}") from exc
        if status >= 500:
            raise ChannelUnavailable(f"slack response_url: HTTP {status}")
        if status != 200:
            raise ChannelRejected(f"slack response_url: HTTP {status}")

    async def auth_test(self) -> dict[str, Any]:
        """Who the bot is; a refused token is `SlackTokenRejected`."""
        try:
            response = await self._call("auth.test", self.client.auth_test())
        except ChannelRejected as exc:
            raise SlackTokenRejected(str(exc)) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def socket_url(self, app_token: str) -> str:
        """A Socket Mode WebSocket URL; a refused app token is `SlackTokenRejected`."""
        try:
            call = self.client.apps_connections_open(app_token=app_token)
            response = await self._call("apps.connections.open", call)
        except ChannelRejected as exc:
            raise SlackTokenRejected(str(exc)) from exc
        return str(response["url"])

    async def download(self, url: str, limit_bytes: int) -> bytes:
        """A file someone shared with the bot (`url_private_download`), at most `limit_bytes`+1.

        The bot token goes only to Slack's own hosts (or to the configured API host).
        """
        session = self.client.session
        if session is None or not self.is_slack_url(url):
            raise ChannelRejected(f"slack file download: not a Slack file URL: {url[:100]}")
        headers = {"Authorization": f"Bearer {self.client.token}"}
        timeout = aiohttp.ClientTimeout(total=self.client.timeout)
        data = bytearray()
        try:
            async with session.get(url, headers=headers, timeout=timeout) as response:
                if response.status != 200:
                    raise ChannelUnavailable(f"slack file download: HTTP {response.status}")
                async for chunk in response.content.iter_chunked(1 << 16):
                    data += chunk
                    if len(data) > limit_bytes:
                        break
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ChannelUnavailable(f"slack file download: {type(exc).__name__}") from exc
        return bytes(data[: limit_bytes + 1])

    def is_slack_url(self, url: str) -> bool:
        """True for Slack's own hosts (or the configured API host, a local test server)."""
        parts, api = urlsplit(url), urlsplit(self.client.base_url)
        on_slack = parts.scheme == "https" and (parts.hostname or "").endswith(".slack.com")
        return on_slack or (parts.scheme, parts.netloc) == (api.scheme, api.netloc)

    async def post(self, channel: str, text: str, blocks: list[Block]) -> str:
        """chat.postMessage; returns the message's `ts`, which later updates address."""
        await self._pacer.wait(channel)
        response = await self._call(
            "chat.postMessage",
            self.client.chat_postMessage(channel=channel, text=escape(text), blocks=blocks),
        )
        return str(response.get("ts", ""))

    async def update(self, channel: str, ts: str, text: str, blocks: list[Block]) -> None:
        """chat.update: not paced, it adds no message to the channel."""
        await self._call(
            "chat.update",
            self.client.chat_update(channel=channel, ts=ts, text=escape(text), blocks=blocks),
        )

    async def upload(self, channel: str, name: str, data: bytes, comment: str) -> None:
        """files_upload_v2: getUploadURLExternal, the upload itself, completeUploadExternal."""
        await self._pacer.wait(channel)
        await self._call(
            "files upload",
            self.client.files_upload_v2(
                channel=channel,
                file=data,
                filename=name,
                title=name,
                initial_comment=escape(comment) if comment else None,
            ),
        )

    async def upload_private(self, name: str, data: bytes) -> str:
        """files_upload_v2 with no channel: a file nobody but the bot sees until a message's
        image block shows it ("If not specified the file will be private":
        files.completeUploadExternal, `channel_id`). Its id."""
        response = await self._call(
            "files upload", self.client.files_upload_v2(file=data, filename=name, title=name)
        )
        file = response.get("file")
        file_id = str(file.get("id", "")) if isinstance(file, dict) else ""
        if not file_id:
            raise ChannelRejected("slack files upload gave no file id")
        return file_id

    async def wait_for_file(self, file_id: str) -> bool:
        """Whether the file became usable within `file_ready_timeout_s`.

        Slack finishes uploads asynchronously: an image block naming a file still being
        processed is refused (`invalid_blocks`, "invalid slack file"). Its files.info has an
        empty `mimetype` until then, which Slack's SDK maintainers suggest polling
        (slackapi/java-slack-sdk#1349, slackapi/slack-github-action#413).
        """
        waited_s, delay_s = 0.0, _FILE_POLL_FIRST_S
        while True:
            response = await self._call("files.info", self.client.files_info(file=file_id))
            file = response.get("file")
            if isinstance(file, dict) and file.get("mimetype"):
                return True
            if waited_s >= self._file_ready_timeout_s:
                return False
            await self._sleep(delay_s)
            waited_s += delay_s
            delay_s = min(delay_s * 2, _FILE_POLL_MAX_S)

    @staticmethod
    async def _call(what: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except SlackApiError as exc:
            raise map_error(what, exc) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ChannelUnavailable(f"slack {what}: {type(exc).__name__}: {exc}") from exc
