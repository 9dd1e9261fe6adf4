"""Messages to Slack: a command's answers (the `Reply` capability) and pushed `Outgoing`s."""

from __future__ import annotations

from bot.channel import Outgoing
from bot.commands.base import ConfirmPrompt
from bot.slack_web import SECTION_LIMIT, SlackWeb, command_blocks, confirm_blocks, text_blocks

IMAGE_NAME = "waops.png"


class SlackProgress:
    """A message posted once and then edited in place with chat.update."""

    def __init__(self, web: SlackWeb, channel: str, ts: str) -> None:
        self._web = web
        self._channel = channel
        self.ts = ts

    async def update(self, text: str) -> None:
        await self._web.update(self._channel, self.ts, text, text_blocks(text))


class SlackReply:
    """Answers a command (or a button press) in the channel it came from.

    Texts go as mrkdwn sections with `& < >` escaped; images and files through
    files_upload_v2 with the caption as the initial comment.
    """

    def __init__(self, web: SlackWeb, channel: str, *, command_prefix: str) -> None:
        self._web = web
        self.channel = channel
        self._command_prefix = command_prefix

    @property
    def text_limit(self) -> int:
        return SECTION_LIMIT

    @property
    def command_prefix(self) -> str:
        return self._command_prefix

    async def text(self, text: str) -> None:
        await self._web.post(self.channel, text, text_blocks(text))

    async def image(self, png: bytes, caption: str = "") -> None:
        await self._web.upload(self.channel, IMAGE_NAME, png, caption)

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        await self._web.upload(self.channel, name, data, caption)

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        await self._web.post(self.channel, prompt.text, confirm_blocks(prompt))

    async def progress(self, text: str) -> SlackProgress:
        ts = await self._web.post(self.channel, text, text_blocks(text))
        return SlackProgress(self._web, self.channel, ts)


async def deliver(web: SlackWeb, chat: str, message: Outgoing) -> None:
    """A pushed message: attachments first with the text as their comment, then the buttons."""
    attachments: list[tuple[str, bytes]] = []
    if message.image is not None:
        attachments.append((IMAGE_NAME, message.image))
    if message.file_data is not None:
        attachments.append((message.file_name or "waops.txt", message.file_data))
    text = message.text
    for name, data in attachments:
        await web.upload(chat, name, data, text)
        text = ""
    if message.buttons:
        fallback = text or " · ".join(button.label for button in message.buttons)
        await web.post(chat, fallback, command_blocks(text, message.buttons))
    elif not attachments:
        await web.post(chat, text, text_blocks(text))
