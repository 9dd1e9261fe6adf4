"""The Telegram adapter: updates become `CommandRequest`s, replies become Bot API calls.

Translation only (STYLE 1): a text message is parsed and dispatched, a button press confirms,
cancels or runs a command through the same dispatcher, a document goes to `on_document`.
It is also the `AdminChannel` for `tg:` chats. PTB runs inside our loop: `initialize()` and
`start()` (polling, then the application), `stop()` and `shutdown()` in reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot, TypeHandler
from telegram.request import HTTPXRequest

from bot.commands.dispatcher import Dispatcher
from bot.push.channel import ChannelRejected, Outgoing
from bot.telegram.buttons import CallbackCodec
from bot.telegram.limiter import PRIVATE_CHAT_INTERVAL_S, FloodRetries, TelegramRateLimiter
from bot.telegram.polling import POLL_BACKOFF, PollingRequest, Reachability
from bot.telegram.reply import TEXT_LIMIT, TelegramReply, TelegramSender, channel_error
from bot.telegram.updates import (
    MAX_DOCUMENT_BYTES,
    PLATFORM,
    PREFIX,
    DocumentHook,
    DocumentUpload,
    UpdateTranslator,
    private_chat_of,
    telegram_start_hook,
)
from bot.texts import LANGUAGES, Language, t
from engine.lifecycle import TwoPhase
from engine.retry import Backoff

__all__ = [
    "PLATFORM",
    "PREFIX",
    "DocumentHook",
    "DocumentUpload",
    "TelegramAdapter",
    "TelegramRateLimiter",
    "private_chat_of",
    "telegram_start_hook",
]

logger = logging.getLogger(__name__)

_ALLOWED_UPDATES: Final = ["message", "callback_query"]


class TelegramAdapter(TwoPhase):
    """Long-polls Telegram and serves the dispatcher; also the `AdminChannel` for `tg:` chats.

    `base_url`/`base_file_url` are PTB's (`WAOPS_TELEGRAM_API_URL`/`WAOPS_TELEGRAM_FILE_URL`):
    the token is appended, or replaces `{token}`. `language` is the command menu's default.
    """

    def __init__(
        self,
        token: str,
        dispatcher: Dispatcher,
        *,
        base_url: str | None = None,
        base_file_url: str | None = None,
        language: Language = "es",
        on_document: DocumentHook | None = None,
        rate_limiter: TelegramRateLimiter | None = None,
        poll_timeout_s: float = 10.0,
        request_timeout_s: float = 15.0,
        upload_timeout_s: float = 60.0,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        publish_commands: bool = True,
        concurrent_updates: int = 16,
        poll_backoff: Backoff = POLL_BACKOFF,
        poll_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._dispatcher = dispatcher
        self._language = language
        self._limiter = rate_limiter or TelegramRateLimiter()
        self._poll_timeout_s = poll_timeout_s
        self._publish_commands = publish_commands
        # Our own request objects, so they are closed even if Telegram never answered getMe
        # (PTB's shutdown skips a bot whose initialize() failed). getUpdates gets two
        # connections: on stop, PTB's last getUpdates (to confirm the offset) must not wait for
        # the long poll it just cancelled to free the only one (httpx PoolTimeout otherwise).
        # The getUpdates one waits out an outage itself (bot/telegram/polling.py), so polling
        # resumes within `poll_backoff.max_s` of Telegram answering again.
        self._polling = PollingRequest(
            backoff=poll_backoff,
            sleep=poll_sleep,
            connection_pool_size=2,
            read_timeout=request_timeout_s,
            write_timeout=request_timeout_s,
            connect_timeout=request_timeout_s,
            pool_timeout=request_timeout_s,
        )
        sends = HTTPXRequest(
            connection_pool_size=64,
            read_timeout=request_timeout_s,
            write_timeout=request_timeout_s,
            connect_timeout=request_timeout_s,
            pool_timeout=request_timeout_s,
            media_write_timeout=upload_timeout_s,
        )
        self._requests = (sends, self._polling)
        builder = (
            ApplicationBuilder()
            .token(token)
            .rate_limiter(self._limiter)
            .job_queue(None)
            .concurrent_updates(concurrent_updates)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
        )
        if base_url:
            builder = builder.base_url(base_url)
        if base_file_url:
            builder = builder.base_file_url(base_file_url)
        self._app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._app.add_handler(TypeHandler(Update, self._on_update))
        self._app.add_error_handler(self._on_error)
        self._sender = TelegramSender(self._bot, CallbackCodec())
        self._updates = UpdateTranslator(
            dispatcher,
            self._sender,
            language=language,
            on_document=on_document,
            max_document_bytes=max_document_bytes,
        )

    # -- lifecycle --------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Check the token (getMe) and open the HTTP pools."""
        try:
            await self._app.initialize()
        except TelegramError as exc:
            raise channel_error(exc) from exc
        self._updates.bot_username = self._bot.username

    async def start(self) -> None:
        """Publish the command menu, then poll for updates and handle them."""
        if self._publish_commands:
            await self._publish_menu()
        updater = self._app.updater
        assert updater is not None
        self._polling.patient = True
        await updater.start_polling(
            timeout=timedelta(seconds=self._poll_timeout_s),
            allowed_updates=_ALLOWED_UPDATES,
            error_callback=self._on_polling_error,
        )
        await self._app.start()

    async def stop(self) -> None:
        """Stop polling, then let the updates in hand finish."""
        self._polling.patient = False  # PTB's last getUpdates must not wait out an outage
        updater = self._app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._app.running:
            await self._app.stop()

    async def shutdown(self) -> None:
        await self._app.shutdown()
        for request in self._requests:
            await request.shutdown()

    @property
    def bot_username(self) -> str | None:
        """The bot's @name from getMe, known after `initialize()`."""
        return self._updates.bot_username

    @property
    def on_reachability(self) -> Reachability | None:
        """Told False when polling first fails and True when Telegram answers again (for the
        outbox: `lambda up: admin_channels.set_ready("tg", up)`)."""
        return self._polling.on_reachability

    @on_reachability.setter
    def on_reachability(self, hook: Reachability | None) -> None:
        self._polling.on_reachability = hook

    @property
    def on_document(self) -> DocumentHook | None:
        """Where documents sent to the bot go (a CSV of prospects); None ignores them."""
        return self._updates.on_document

    @on_document.setter
    def on_document(self, hook: DocumentHook | None) -> None:
        self._updates.on_document = hook

    async def handled(self, update_id: int, timeout_s: float = 5.0) -> None:
        """Return once update `update_id` went through the adapter (run-until-idle for tests)."""
        await self._updates.handled(update_id, timeout_s)

    # -- AdminChannel -----------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return PREFIX

    @property
    def text_limit(self) -> int:
        return TEXT_LIMIT

    @property
    def min_interval_s(self) -> float:
        return PRIVATE_CHAT_INTERVAL_S

    async def deliver(self, chat: str, message: Outgoing) -> None:
        """Push `message` to chat `chat` (the id without `tg:`); no retry here, the outbox
        retries on `ChannelUnavailable`."""
        if not chat.lstrip("-").isdigit() and not chat.startswith("@"):
            raise ChannelRejected(f"not a telegram chat id: {chat!r}")
        await self._sender.outgoing(chat, message, retries=0)

    def reply_to(self, chat: str) -> TelegramReply:
        """A `Reply` for chat `chat`, for answers outside an update."""
        return TelegramReply(self._sender, chat)

    # -- updates ----------------------------------------------------------------------------

    @property
    def _bot(self) -> ExtBot[FloodRetries]:
        bot: ExtBot[FloodRetries] = self._app.bot
        return bot

    async def _on_update(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await self._updates.handle(update)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("telegram handler error on %r", update, exc_info=context.error)

    @staticmethod
    def _on_polling_error(exc: TelegramError) -> None:
        logger.warning("telegram polling: %s", exc)

    async def _publish_menu(self) -> None:
        """The command list in Telegram's menu, in each language (and the default one)."""
        try:
            for lang in LANGUAGES:
                await self._bot.set_my_commands(self._menu(lang), language_code=lang)
            await self._bot.set_my_commands(self._menu(self._language))
        except TelegramError as exc:
            logger.warning("could not publish the telegram command menu: %s", exc)

    def _menu(self, lang: Language) -> list[BotCommand]:
        groups: dict[str, list[str]] = {}
        helps: dict[str, str] = {}
        for command in self._dispatcher.registry:
            head, _, sub = command.name.partition(" ")
            groups.setdefault(head, [])
            if sub:
                groups[head].append(sub)
            else:
                helps[head] = t(lang, command.help_key)
        menu = []
        for head, subs in groups.items():
            text = helps.get(head) or t(lang, "telegram.menu_group", subcommands=", ".join(subs))
            menu.append(BotCommand(head, text[:256]))
        return menu[:100]
