"""Sending to one Telegram chat: texts, photos, documents, buttons, messages edited in place.

A live image (the pairing QR) is one photo whose picture is replaced with editMessageMedia
(InputMediaPhoto with a new upload); a progress message is one text edited with
editMessageText. When Telegram refuses the edit (the message was deleted: "message to edit not
found", or "message can't be edited"), the next picture or text goes out as a new message.

Everything goes out as plain text (no parse mode), so whatever an operator or a contact wrote
is shown as typed and can never break the message. PTB errors become our `ChannelUnavailable`
(try again later) or `ChannelRejected` (this will not work) here, at the boundary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final, TypeVar

from telegram import InlineKeyboardMarkup, InputMediaPhoto, LinkPreviewOptions, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.commands.base import ConfirmPrompt, MediaFile
from bot.push.channel import ChannelRejected, ChannelUnavailable, Outgoing, split_text
from bot.telegram.buttons import CallbackCodec
from bot.telegram.limiter import FloodRetries, retry_after_s
from bot.telegram.media import MAX_UPLOAD_BYTES, send_file
from bot.texts import phrase

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEXT_LIMIT: Final = 4000
"""What commands are told (`Reply.text_limit`); Telegram takes 4096 UTF-16 units."""
MESSAGE_UNITS: Final = 4096
CAPTION_UNITS: Final = 1024

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def utf16_units(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP (most emoji) count twice."""
    return len(text.encode("utf-16-le")) // 2


def cut_utf16(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 units, never splitting a character."""
    pieces: list[str] = []
    start, units = 0, 0
    for i, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > limit:
            pieces.append(text[start:i])
            start, units = i, 0
        units += width
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def message_chunks(text: str) -> list[str]:
    """`text` as messages Telegram accepts: split on lines, then to the UTF-16 limit."""
    return [
        piece for chunk in split_text(text, TEXT_LIMIT) for piece in cut_utf16(chunk, MESSAGE_UNITS)
    ]


def channel_error(exc: TelegramError) -> ChannelUnavailable | ChannelRejected:
    """Our error for a PTB error: transient trouble is retried later, refusals are final."""
    if isinstance(exc, RetryAfter):
        return ChannelUnavailable(f"telegram flood limit: {exc}", retry_after_s(exc))
    if isinstance(exc, Forbidden):
        return ChannelRejected(f"telegram refused: {exc}")
    if isinstance(exc, ChatMigrated):
        return ChannelRejected(f"telegram chat moved to {exc.new_chat_id}")
    if isinstance(exc, BadRequest):
        return ChannelRejected(f"telegram bad request: {exc}")
    if isinstance(exc, InvalidToken):
        # A configuration problem that an admin fixes; the message must not be dropped.
        return ChannelUnavailable(f"telegram refused the bot token (WAOPS_TELEGRAM_TOKEN): {exc}")
    return ChannelUnavailable(f"telegram unreachable: {exc}")


def _flood(retries: int | None) -> FloodRetries | None:
    return None if retries is None else FloodRetries(retries)


def is_not_modified(exc: TelegramError) -> bool:
    """Telegram's answer to an edit that changes nothing: harmless."""
    return isinstance(exc, BadRequest) and "not modified" in exc.message.lower()


class TelegramSender:
    """The Bot API calls waops makes, with errors mapped to ours.

    `retries` is how often to retry after a flood-limit answer (None: the limiter's default);
    pushes pass 0 so the outbox decides when to try again.
    """

    def __init__(self, bot: ExtBot[FloodRetries], codec: CallbackCodec) -> None:
        self.bot = bot
        self.codec = codec

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except TelegramError as exc:
            raise channel_error(exc) from exc

    async def call(self, call: Awaitable[T]) -> T:
        """Any Bot API call, with PTB's errors mapped to ours (bot/telegram/media.py)."""
        return await self._call(call)

    async def text(
        self,
        chat: str,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        retries: int | None = None,
    ) -> Message | None:
        """`text` in as many messages as it takes; the buttons go on the last one."""
        chunks = message_chunks(text)
        sent: Message | None = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            sent = await self._call(
                self.bot.send_message(
                    chat,
                    chunk,
                    reply_markup=markup if last else None,
                    link_preview_options=_NO_PREVIEW,
                    rate_limit_args=_flood(retries),
                )
            )
        return sent

    async def media(
        self,
        chat: str,
        *,
        photo: bytes | None = None,
        document: tuple[str, bytes] | None = None,
        text: str = "",
        markup: InlineKeyboardMarkup | None = None,
        retries: int | None = None,
    ) -> None:
        """A photo and/or a document; `text` is their caption when it fits, else follows."""
        caption = text if utf16_units(text) <= CAPTION_UNITS else ""
        rest = "" if caption else text
        pieces: list[tuple[str, bytes, str]] = []
        if photo is not None:
            pieces.append(("photo", photo, ""))
        if document is not None:
            pieces.append(("document", document[1], document[0]))
        for i, (kind, data, name) in enumerate(pieces):
            last = i == len(pieces) - 1
            this_caption = caption if last else ""
            this_markup = markup if last and not rest.strip() else None
            if kind == "photo":
                await self._call(
                    self.bot.send_photo(
                        chat,
                        data,
                        caption=this_caption or None,
                        reply_markup=this_markup,
                        rate_limit_args=_flood(retries),
                    )
                )
            else:
                await self._call(
                    self.bot.send_document(
                        chat,
                        data,
                        filename=name,
                        caption=this_caption or None,
                        reply_markup=this_markup,
                        rate_limit_args=_flood(retries),
                    )
                )
        if rest.strip():
            await self.text(chat, rest, markup, retries)

    async def photo(self, chat: str, png: bytes, caption: str = "") -> Message:
        """One photo whose caption is cut to what Telegram takes; the message, to edit later."""
        caption = cut_utf16(caption, CAPTION_UNITS)[0] if caption.strip() else ""
        return await self._call(self.bot.send_photo(chat, png, caption=caption or None))

    async def edit_photo(self, chat: str, message_id: int, png: bytes, caption: str = "") -> None:
        """editMessageMedia with a new upload (PTB sends it as attach://); "not modified" is
        harmless, any other refusal is `ChannelRejected`."""
        caption = cut_utf16(caption, CAPTION_UNITS)[0] if caption.strip() else ""
        media = InputMediaPhoto(png, caption=caption or None)
        try:
            await self.bot.edit_message_media(media, chat_id=chat, message_id=message_id)
        except TelegramError as exc:
            if not is_not_modified(exc):
                raise channel_error(exc) from exc

    async def outgoing(self, chat: str, message: Outgoing, *, retries: int | None) -> None:
        """A pushed message: text, image, file and buttons."""
        markup = self.codec.buttons(message.buttons)
        document = None
        if message.file_data is not None:
            document = (message.file_name or "waops.txt", message.file_data)
        if message.image is not None or document is not None:
            await self.media(
                chat,
                photo=message.image,
                document=document,
                text=message.text,
                markup=markup,
                retries=retries,
            )
        elif message.text.strip():
            await self.text(chat, message.text, markup, retries)
        else:
            logger.warning("nothing to send to telegram chat %s: empty message", chat)

    async def edit_text(self, chat: str, message_id: int, text: str) -> None:
        text = cut_utf16(text, MESSAGE_UNITS)[0] if text.strip() else "…"
        try:
            await self.bot.edit_message_text(
                text, chat_id=chat, message_id=message_id, link_preview_options=_NO_PREVIEW
            )
        except TelegramError as exc:
            if not is_not_modified(exc):
                raise channel_error(exc) from exc

    async def typing(self, chat: str) -> None:
        """sendChatAction "typing": also tells whether the bot may write to `chat` at all."""
        await self._call(self.bot.send_chat_action(chat, "typing"))

    async def clear_buttons(self, chat: str, message_id: int) -> None:
        """Take the buttons off a message once they have done their job."""
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=chat, message_id=message_id, reply_markup=None
            )
        except TelegramError as exc:
            if not is_not_modified(exc):
                logger.warning("could not remove buttons in chat %s: %s", chat, exc)


@dataclass
class TelegramProgress:
    """One message, edited as the work goes on (sent anew if Telegram refuses the edit)."""

    sender: TelegramSender
    chat: str
    message_id: int
    last_text: str

    async def update(self, text: str) -> None:
        if text == self.last_text:
            return
        try:
            await self.sender.edit_text(self.chat, self.message_id, text)
        except ChannelRejected as exc:
            logger.info("telegram chat %s: edit refused (%s); sending it anew", self.chat, exc)
            message = await self.sender.text(self.chat, _first_message(text))
            assert message is not None
            self.message_id = message.message_id
        self.last_text = text


class TelegramLiveImage:
    """A photo sent once, then replaced with editMessageMedia at every `show()`.

    The lock keeps pictures in order: a later one waits until the first has its message id.
    """

    def __init__(self, sender: TelegramSender, chat: str) -> None:
        self._sender = sender
        self._chat = chat
        self._lock = asyncio.Lock()
        self.message_id: int | None = None

    async def show(self, png: bytes, caption: str = "") -> None:
        async with self._lock:
            if self.message_id is not None:
                try:
                    await self._sender.edit_photo(self._chat, self.message_id, png, caption)
                    return
                except ChannelRejected as exc:
                    logger.info(
                        "telegram chat %s: photo edit refused (%s); sending it anew",
                        self._chat,
                        exc,
                    )
            message = await self._sender.photo(self._chat, png, caption)
            self.message_id = message.message_id


def _first_message(text: str) -> str:
    return cut_utf16(text, MESSAGE_UNITS)[0] if text.strip() else "…"


@dataclass
class TelegramReply:
    """`bot.commands.base.Reply` for one Telegram chat, on behalf of `user` (who typed there).

    Private chats have positive ids, groups negative ones: output meant for `user` alone
    (`private_reply()`) goes to their private chat, which Telegram opens to the bot only once
    they wrote to it, so a `typing` action checks first (403 when they never did).
    """

    sender: TelegramSender
    chat: str
    user: int | None = None
    text_limit: int = TEXT_LIMIT
    command_prefix: str = "/"

    @property
    def is_private(self) -> bool:
        return not self.chat.startswith(("-", "@"))

    @property
    def private_hint(self) -> str:
        bot = self.sender.bot.username
        return f"@{bot}" if bot else phrase("telegram.private_hint")

    async def private_reply(self) -> TelegramReply | None:
        if self.user is None:
            return None
        try:
            await self.sender.typing(str(self.user))
        except ChannelRejected:
            return None
        return TelegramReply(self.sender, str(self.user), self.user)

    async def text(self, text: str) -> None:
        if text.strip():
            await self.sender.text(self.chat, text)

    async def image(self, png: bytes, caption: str = "") -> None:
        await self.sender.media(self.chat, photo=png, text=caption)

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        await self.sender.media(self.chat, document=(name, data), text=caption)

    @property
    def max_file_bytes(self) -> int:
        return MAX_UPLOAD_BYTES

    async def media(self, file: MediaFile, caption: str = "") -> None:
        """A WhatsApp file as Telegram shows its kind (bot/telegram/media.py)."""
        await send_file(self.sender, self.chat, file, caption)

    def live_image(self) -> TelegramLiveImage:
        return TelegramLiveImage(self.sender, self.chat)

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        markup = self.sender.codec.confirm(prompt)
        await self.sender.text(self.chat, prompt.text or "?", markup)

    async def progress(self, text: str) -> TelegramProgress:
        first = _first_message(text)
        message = await self.sender.text(self.chat, first)
        assert message is not None
        return TelegramProgress(self.sender, self.chat, message.message_id, first)
