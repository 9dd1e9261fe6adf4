"""Messages to Slack: a command's answers (the `Reply` capability) and pushed `Outgoing`s.

A command typed in a channel is answered to its operator alone: texts as ephemeral messages
(through the command's response_url, else chat.postEphemeral, else their DM), and files,
images and messages edited later (progress) in their DM, since neither can be ephemeral. A
command typed in the DM is answered there. So what a command shows never reaches the channel.

A live image (the pairing QR) is one message whose image block is pointed at a new file each
time: Slack cannot swap the file of a file message, so each picture is uploaded privately and
the message is updated with chat.update to show it (slack_file by id). When the update is
refused (`message_not_found`, `edit_window_closed`, ...) the picture is posted anew, and if
Slack never finishes the upload in time it is shared as a plain file instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from bot.commands.base import ConfirmPrompt, MediaFile
from bot.push.channel import ChannelRejected, ChannelUnavailable, Outgoing
from bot.slack.web import (
    SECTION_LIMIT,
    Block,
    SlackWeb,
    command_blocks,
    confirm_blocks,
    image_blocks,
    text_blocks,
)
from bot.texts import Language, phrase, t
from engine.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

IMAGE_NAME = "waops.png"
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60 - 60
"""Slack: a response_url works up to five times within 30 minutes (a minute of margin here)."""
MAX_UPLOAD_BYTES = 1_000_000_000
"""Not verified: the Web API reference (files.getUploadURLExternal) names no per-file limit,
and 1 GB is only the figure commonly quoted for Slack uploads. It never binds: the files waops
has are WhatsApp's, at most 100 MB (engine/media.py), and WAOPS_MEDIA_MAX_BYTES inbound."""


@dataclass
class ResponseUrl:
    """The response_url of one slash command or button press, and how much of it is used."""

    url: str
    created_s: float
    uses: int = 0

    def usable(self, now_s: float) -> bool:
        return self.uses < RESPONSE_URL_USES and now_s - self.created_s < RESPONSE_URL_TTL_S


class PromptTexts:
    """Confirmation texts by token, to rewrite an ephemeral proposal once it is settled:
    a press on an ephemeral message need not carry the message itself."""

    def __init__(self, capacity: int = 1024) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def remember(self, token: str, text: str) -> None:
        self._texts[token] = text
        while len(self._texts) > self._capacity:
            self._texts.popitem(last=False)

    def get(self, token: str) -> str | None:
        return self._texts.get(token)


class SlackProgress:
    """A message posted once and then edited in place with chat.update (posted anew when
    Slack refuses the update)."""

    def __init__(self, web: SlackWeb, channel: str, ts: str) -> None:
        self._web = web
        self._channel = channel
        self.ts = ts

    async def update(self, text: str) -> None:
        blocks = text_blocks(text)
        try:
            await self._web.update(self._channel, self.ts, text, blocks)
        except ChannelRejected as exc:
            logger.info("slack %s: update refused (%s); posting anew", self._channel, exc)
            self.ts = await self._web.post(self._channel, text, blocks)


class SlackLiveImage:
    """One message showing the newest picture: a private upload, then chat.update.

    The lock keeps pictures in order: a later one waits until the message exists.
    """

    def __init__(self, reply: SlackReply) -> None:
        self._reply = reply
        self._lock = asyncio.Lock()
        self.channel: str | None = None
        self.ts: str | None = None

    async def show(self, png: bytes, caption: str = "") -> None:
        async with self._lock:
            channel = self.channel or await self._reply.personal_channel()
            file_id = await self._private_file(png)
            if file_id is not None and self.ts is not None and await self._update(file_id, caption):
                return
            self.channel, self.ts = channel, None
            if file_id is not None:
                self.ts = await self._post(channel, file_id, caption)
            if self.ts is None:  # a file message instead: shown, but never editable
                await self._reply.web.upload(channel, IMAGE_NAME, png, caption)
            await self._reply.point_to_dm(channel)

    async def _private_file(self, png: bytes) -> str | None:
        """The picture as a private file Slack has finished processing, or None."""
        web = self._reply.web
        try:
            file_id = await web.upload_private(IMAGE_NAME, png)
            return file_id if await web.wait_for_file(file_id) else None
        except ChannelRejected as exc:
            logger.info("slack: private upload refused (%s); sharing the file", exc)
            return None

    async def _update(self, file_id: str, caption: str) -> bool:
        assert self.channel is not None and self.ts is not None
        blocks = image_blocks(caption, file_id)
        try:
            await self._reply.web.update(self.channel, self.ts, caption or IMAGE_NAME, blocks)
        except ChannelRejected as exc:
            logger.info("slack %s: image update refused (%s); posting anew", self.channel, exc)
            return False
        return True

    async def _post(self, channel: str, file_id: str, caption: str) -> str | None:
        blocks = image_blocks(caption, file_id)
        try:
            return await self._reply.web.post(channel, caption or IMAGE_NAME, blocks)
        except ChannelRejected as exc:
            logger.info("slack %s: image post refused (%s); sharing the file", channel, exc)
            return None


@dataclass
class SlackReply:
    """Answers a command (or a button press) for `user`, typed in `channel`.

    In a DM (`D...`), or without a user (a push), everything is posted in `channel`. Elsewhere
    answers go to `user` alone, as the module says. Texts go as mrkdwn sections with `& < >`
    escaped; images and files through files_upload_v2 with the caption as the initial comment.
    """

    web: SlackWeb
    channel: str
    command_prefix: str
    user: str | None = None
    response_url: ResponseUrl | None = None
    language: Language = "en"
    prompts: PromptTexts = field(default_factory=PromptTexts)
    clock: Clock = field(default_factory=SystemClock)
    _pointed: bool = False

    @property
    def text_limit(self) -> int:
        return SECTION_LIMIT

    @property
    def _in_place(self) -> bool:
        """Answers go where the command was typed (a DM, or a push without a person)."""
        return self.user is None or self.channel.startswith("D")

    @property
    def is_private(self) -> bool:
        return self.user is not None or self.channel.startswith("D")

    @property
    def private_hint(self) -> str:
        return phrase("slack.private_hint")

    async def private_reply(self) -> SlackReply | None:
        return self if self.user is not None else None

    async def text(self, text: str) -> None:
        await self._say(text, text_blocks(text))

    async def image(self, png: bytes, caption: str = "") -> None:
        await self.file(IMAGE_NAME, png, caption)

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        channel = await self.personal_channel()
        await self.web.upload(channel, name, data, caption)
        await self.point_to_dm(channel)

    @property
    def max_file_bytes(self) -> int:
        return MAX_UPLOAD_BYTES

    async def media(self, file: MediaFile, caption: str = "") -> None:
        """A WhatsApp file: Slack shows every kind from its upload (audio and video play in
        the message), so it goes as a file to the operator's DM like any other."""
        await self.file(file.name, file.data, caption)

    def live_image(self) -> SlackLiveImage:
        return SlackLiveImage(self)

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        self.prompts.remember(prompt.token, prompt.text)
        await self._say(prompt.text, confirm_blocks(prompt))

    async def progress(self, text: str) -> SlackProgress:
        channel = await self.personal_channel()
        ts = await self.web.post(channel, text, text_blocks(text))
        await self.point_to_dm(channel)
        return SlackProgress(self.web, channel, ts)

    async def _say(self, text: str, blocks: list[Block]) -> None:
        if self._in_place:
            await self.web.post(self.channel, text, blocks)
            return
        assert self.user is not None
        if await self._respond(text, blocks):
            return
        try:
            await self.web.post_ephemeral(self.channel, self.user, text, blocks)
        except ChannelRejected as exc:  # not in that channel (any more): their DM, then
            logger.info("slack: ephemeral answer refused (%s); sending it to the DM", exc)
            await self.web.post(await self.web.open_dm(self.user), text, blocks)

    async def _respond(self, text: str, blocks: list[Block]) -> bool:
        """Through the response_url while it lasts; False when it cannot be used."""
        hook = self.response_url
        if (
            hook is None
            or not hook.usable(self.clock.monotonic())
            or not self.web.is_slack_url(hook.url)
        ):
            return False
        hook.uses += 1
        try:
            await self.web.respond(hook.url, text, blocks)
        except (ChannelUnavailable, ChannelRejected) as exc:
            logger.info("slack: response_url refused (%s); posting ephemerally instead", exc)
            hook.uses = RESPONSE_URL_USES
            return False
        return True

    async def personal_channel(self) -> str:
        """The channel for what cannot be ephemeral: the DM, unless this already is one."""
        if self._in_place:
            return self.channel
        assert self.user is not None
        return await self.web.open_dm(self.user)

    async def point_to_dm(self, channel: str) -> None:
        """Once per reply, a note where the command was typed that the DM has the rest."""
        if channel == self.channel or self._pointed:
            return
        self._pointed = True
        note = t(self.language, "slack.sent_to_dm")
        await self._say(note, text_blocks(note))

    async def settle(self, hook: ResponseUrl, text: str, blocks: list[Block]) -> None:
        """Replace the ephemeral message whose button was pressed (its response_url)."""
        hook.uses += 1
        await self.web.respond(hook.url, text, blocks, replace_original=True)


async def deliver(web: SlackWeb, chat: str, message: Outgoing) -> None:
    """A pushed message: attachments first with the text as their comment, then the buttons.
    `chat` is a channel, or a person (`U...`), reached in their DM."""
    channel = await web.chat_for(chat)
    attachments: list[tuple[str, bytes]] = []
    if message.image is not None:
        attachments.append((IMAGE_NAME, message.image))
    if message.file_data is not None:
        attachments.append((message.file_name or "waops.txt", message.file_data))
    text = message.text
    for name, data in attachments:
        await web.upload(channel, name, data, text)
        text = ""
    if message.buttons:
        fallback = text or " · ".join(button.label for button in message.buttons)
        await web.post(channel, fallback, command_blocks(text, message.buttons))
    elif not attachments:
        await web.post(channel, text, text_blocks(text))
