"""From Telegram updates to the dispatcher: messages, button presses and files.

Translation only: who wrote (`tg:<user id>`), where (the chat id), what (the text, the button's
command or confirmation token, the file). Authorising, answering strangers and auditing are
the dispatcher's job: a file whose caption is a command goes to it with a way to fetch the
file, which it uses only once the sender may run that command.

A file is a document, a photo, a video, an audio or a voice message (Bot API `Message`:
`document`, `photo`, `video`, `audio`, `voice`; `caption` is the "Caption for the animation,
audio, document, paid media, photo, video or voice"). A photo comes as several `PhotoSize`s;
the largest is taken. Telegram re-encodes what is sent as a photo to JPEG, and a `PhotoSize`
has no `mime_type` or name, so it is `image/jpeg` named `photo.jpg` here (not verified
beyond Telegram's clients always sending JPEG; send a PNG as a file to keep it PNG).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Final

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.commands.base import (
    AttachmentFetch,
    CommandContext,
    CommandError,
    CommandRequest,
    Reply,
    file_too_big,
)
from bot.commands.confirmations import ConfirmOutcome
from bot.commands.dispatcher import Dispatcher
from bot.commands.identity import StartHook
from bot.commands.parsing import parse_request
from bot.telegram.buttons import CallbackCodec
from bot.telegram.reply import TelegramReply, TelegramSender
from bot.texts import Language, pick_language, t
from storage.records import AuditResult

logger = logging.getLogger(__name__)

PLATFORM: Final = "telegram"
PREFIX: Final = "tg"
MAX_DOCUMENT_BYTES: Final = 20 * 1024 * 1024
"""The Bot API serves files up to 20 MB to bots: exactly 20 MiB (telegram-bot-api's Client.h,
`MAX_DOWNLOAD_FILE_SIZE = 20 << 20`; getFile over it is "Bad Request: file is too big")."""

# A button stays while someone may still press it usefully (the proposer, another operator).
_CONFIRM_DONE: Final = frozenset(
    {
        ConfirmOutcome.DONE,
        ConfirmOutcome.CANCELLED,
        ConfirmOutcome.FAILED,
        ConfirmOutcome.EXPIRED,
        ConfirmOutcome.UNKNOWN,
    }
)
_RUN_DONE: Final = frozenset({AuditResult.OK, AuditResult.PROPOSED})


@dataclass(frozen=True)
class DocumentUpload:
    """A document sent without a command in its caption: who sent it, where, what it is.

    Its bytes are not fetched: only a command that takes a file gets them, after the
    dispatcher has authorised it.
    """

    actor: str
    platform: str
    channel: str
    language: str | None
    caption: str
    mime_type: str | None
    file_name: str
    size_bytes: int | None


@dataclass(frozen=True)
class Attached:
    """The file of a message, as the Bot API describes it (see the module docstring)."""

    file_id: str
    file_size: int | None
    name: str
    mime_type: str | None


def attached(message: Message) -> Attached | None:
    """The document, largest photo, video, audio or voice of `message`, or None."""
    if message.document is not None:
        d = message.document
        return Attached(d.file_id, d.file_size, d.file_name or "document", d.mime_type)
    if message.photo:
        p = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        return Attached(p.file_id, p.file_size, "photo.jpg", "image/jpeg")
    if message.video is not None:
        v = message.video
        return Attached(v.file_id, v.file_size, v.file_name or "video.mp4", v.mime_type)
    if message.audio is not None:
        a = message.audio
        return Attached(a.file_id, a.file_size, a.file_name or "audio.mp3", a.mime_type)
    if message.voice is not None:
        o = message.voice
        return Attached(o.file_id, o.file_size, "voice.ogg", o.mime_type or "audio/ogg")
    return None


DocumentHook = Callable[[DocumentUpload, Reply], Awaitable[None]]
"""`on_document(upload, reply)`, for a document whose caption is no command (to say how to
send one). The sender is not identified yet: the hook must not answer strangers."""


def private_chat_of(request: CommandRequest) -> str | None:
    """`tg:<chat id>` when `request` came from a person's private chat with the bot."""
    if request.platform != PLATFORM or request.actor != f"{PREFIX}:{request.channel}":
        return None
    return f"{PREFIX}:{request.channel}"


def telegram_start_hook(mark_reachable: Callable[[str, str], Awaitable[None]]) -> StartHook:
    """An `on_start` hook for `build_registry`: /start in a private Telegram chat calls
    `mark_reachable(actor, "tg:<chat id>")`, as a bot may only write to people who wrote first."""

    async def on_start(ctx: CommandContext) -> None:
        chat = private_chat_of(ctx.request)
        if chat is not None:
            await mark_reachable(ctx.request.actor, chat)

    return on_start


class UpdateTranslator:
    """Turns each update into a dispatcher call; never raises into PTB."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        sender: TelegramSender,
        *,
        language: Language,
        on_document: DocumentHook | None,
        max_document_bytes: int,
    ) -> None:
        self._dispatcher = dispatcher
        self._sender = sender
        self._language = language
        self.on_document = on_document
        self._max_document_bytes = max_document_bytes
        self.bot_username: str | None = None
        self._handled: deque[int] = deque(maxlen=4096)
        self._handled_changed = asyncio.Condition()

    async def handle(self, update: Update) -> None:
        try:
            if update.callback_query is not None:
                await self._on_press(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message)
            # Edited messages, channel posts and the rest are not commands: ignored.
        except Exception:
            logger.exception("telegram update %s could not be handled", update.update_id)
        finally:
            async with self._handled_changed:
                self._handled.append(update.update_id)
                self._handled_changed.notify_all()

    async def handled(self, update_id: int, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s), self._handled_changed:
            await self._handled_changed.wait_for(lambda: update_id in self._handled)

    def _request(self, text: str, user: User, chat: str) -> CommandRequest | None:
        return parse_request(
            text,
            actor=f"{PREFIX}:{user.id}",
            platform=PLATFORM,
            channel=chat,
            language=user.language_code,
            bot_username=self.bot_username,
        )

    async def _on_message(self, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        chat = str(message.chat.id)
        reply = TelegramReply(self._sender, chat, user.id)
        file = attached(message)
        if file is not None:
            await self._on_document(message, file, user, chat, reply)
            return
        text = message.text
        if not text:
            return
        if message.chat.type != ChatType.PRIVATE and not text.startswith("/"):
            return  # in groups only commands are for us
        request = self._request(text, user, chat)
        if request is not None:
            await self._dispatcher.dispatch(request, reply)

    async def _on_document(
        self, message: Message, document: Attached, user: User, chat: str, reply: TelegramReply
    ) -> None:
        name = document.name
        caption = message.caption or ""
        request = self._request(caption, user, chat) if caption.startswith("/") else None
        if request is not None:
            fetch = self._fetch(document, f"{PREFIX}:{user.id}")
            request = replace(
                request,
                attachment_name=name,
                attachment_mimetype=document.mime_type,
                fetch_attachment=fetch,
            )
            await self._dispatcher.dispatch(request, reply)
            return
        if self.on_document is None:
            logger.info("document from tg:%s ignored: no command in its caption", user.id)
            return
        upload = DocumentUpload(
            f"{PREFIX}:{user.id}",
            PLATFORM,
            chat,
            user.language_code,
            caption,
            document.mime_type,
            name,
            document.file_size,
        )
        await self.on_document(upload, reply)

    def _fetch(self, document: Attached, actor: str) -> AttachmentFetch:
        """getFile and the download, for the dispatcher to call once it has authorised."""

        async def fetch(limit_bytes: int) -> bytes:
            limit = min(limit_bytes, self._max_document_bytes)
            # Telegram says the size up front: an over-large file is never asked for.
            if (document.file_size or 0) > limit:
                raise file_too_big(limit)
            try:
                file = await self._sender.bot.get_file(document.file_id)
                data = bytes(await file.download_as_bytearray())
            except TelegramError as exc:
                logger.warning("telegram: could not fetch a document from %s: %s", actor, exc)
                raise CommandError("limits.file_unreadable") from exc
            if len(data) > limit:
                raise file_too_big(limit)
            return data

        return fetch

    async def _on_press(self, query: CallbackQuery) -> None:
        user = query.from_user
        message = query.message
        decoded = self._codec.decode(query.data)
        if message is None or decoded is None:
            lang = pick_language(user.language_code, default=self._language)
            await self._answer(query, t(lang, "telegram.button_expired"))
            return
        await self._answer(query)
        chat = str(message.chat.id)
        reply = TelegramReply(self._sender, chat, user.id)
        kind, payload = decoded
        if kind == CallbackCodec.RUN:
            request = self._request(payload, user, chat)
            if request is None:
                return
            done = await self._dispatcher.dispatch(request, reply) in _RUN_DONE
        else:
            d = self._dispatcher
            resolve = d.confirm if kind == CallbackCodec.CONFIRM else d.cancel
            outcome = await resolve(
                payload, actor=f"{PREFIX}:{user.id}", platform=PLATFORM, reply=reply
            )
            done = outcome in _CONFIRM_DONE
        if done:
            await self._sender.clear_buttons(chat, message.message_id)

    @property
    def _codec(self) -> CallbackCodec:
        return self._sender.codec

    @staticmethod
    async def _answer(query: CallbackQuery, text: str | None = None) -> None:
        """Stop the button's spinner; a press too old to answer is still acted on."""
        try:
            await query.answer(text)
        except TelegramError as exc:
            logger.info("could not answer telegram button press: %s", exc)
