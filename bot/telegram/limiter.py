"""Telegram's flood limits, so that one busy chat never delays another.

Telegram asks bots for about one message per second in a chat, at most 20 per minute in a
group and about 30 per second overall (Bot API FAQ, "My bot is hitting limits"). PTB's
`AIORateLimiter` (python-telegram-bot[rate-limiter]) keeps the bot-wide and per-group budgets,
taken only when a request is about to go out; on top of it each chat has its own spacing, with
an injectable clock and sleep so tests check it without waiting. Nothing is shared between chats:
ten replies queued for chat A wait for A's slots only, and chat B's answer goes at once.
A `RetryAfter` holds that chat for as long as Telegram asked (PTB's limiter would hold every
chat, which is what this module exists to avoid), then the request is retried a bounded number
of times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

from engine.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]

PRIVATE_CHAT_INTERVAL_S = 1.0
"""Telegram: about one message per second in one chat."""
GROUP_CHAT_INTERVAL_S = 3.0
"""Telegram: at most 20 messages per minute in one group."""
OVERALL_PER_S = 30.0
"""Telegram: about 30 messages per second for the whole bot."""
GROUP_PER_MIN = 20.0


@dataclass(frozen=True)
class FloodRetries:
    """Per-call `rate_limit_args`: how often to retry after a flood-limit answer.

    An object rather than an int because PTB drops falsy `rate_limit_args`, and 0 matters.
    """

    count: int


def retry_after_s(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds, whichever type this PTB version hands out."""
    value: object = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return 1.0


class _Flood(Exception):
    """A `RetryAfter` carried past `AIORateLimiter`, which would otherwise hold every chat."""

    def __init__(self, error: RetryAfter) -> None:
        super().__init__(str(error))
        self.error = error


class TelegramRateLimiter(BaseRateLimiter[FloodRetries]):
    """Per-chat spacing of ours, then PTB's `AIORateLimiter` for the overall and group budgets.

    A request naming a chat reserves that chat's next slot (without awaiting in between, so
    concurrent senders keep their order) and sleeps until it; requests without a chat
    (getUpdates, answerCallbackQuery, getFile) are not held. `rate_limit_args` (a `FloodRetries`)
    overrides `max_retries` for one call; pushes pass 0 so the outbox decides when to retry.
    """

    def __init__(
        self,
        *,
        chat_interval_s: float = PRIVATE_CHAT_INTERVAL_S,
        group_interval_s: float = GROUP_CHAT_INTERVAL_S,
        overall_per_s: float = OVERALL_PER_S,
        group_per_min: float = GROUP_PER_MIN,
        max_retries: int = 1,
        max_retry_wait_s: float = 60.0,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.chat_interval_s = chat_interval_s
        self.group_interval_s = group_interval_s
        self._budgets = AIORateLimiter(
            overall_max_rate=overall_per_s,
            overall_time_period=1,
            group_max_rate=group_per_min,
            group_time_period=60,
            max_retries=0,
        )
        self._max_retries = max_retries
        self._max_retry_wait_s = max_retry_wait_s
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._next_by_chat: dict[str, float] = {}
        self._held_until: dict[str, float] = {}

    async def initialize(self) -> None:
        await self._budgets.initialize()

    async def shutdown(self) -> None:
        await self._budgets.shutdown()

    def reserve(self, chat: str) -> float:
        """Book the next slot for a message to `chat`; returns how long to wait for it."""
        now = self._clock.monotonic()
        self._forget_past(now)
        slot = max(now, self._held_until.get(chat, now), self._next_by_chat.get(chat, now))
        self._next_by_chat[chat] = slot + self._interval_for(chat)
        return slot - now

    def hold(self, chat: str, wait_s: float) -> None:
        """Telegram said to wait: nothing more goes to `chat` before `wait_s` from now."""
        until = self._clock.monotonic() + wait_s
        self._held_until[chat] = max(self._held_until.get(chat, until), until)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: FloodRetries | None,
    ) -> Result:
        """Wait for this chat's slot, then the shared budgets; on `RetryAfter` hold the chat."""
        raw_chat = data.get("chat_id")
        chat = None if raw_chat is None else str(raw_chat)
        retries = self._max_retries if rate_limit_args is None else rate_limit_args.count

        async def unmasked(*call_args: Any, **call_kwargs: Any) -> Result:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter as exc:
                raise _Flood(exc) from exc

        attempt = 0
        while True:
            if chat is not None:
                wait_s = self.reserve(chat)
                if wait_s > 0:
                    await self._sleep(wait_s)
            try:
                return await self._budgets.process_request(
                    unmasked, args, kwargs, endpoint, data, None
                )
            except _Flood as flood:
                wait_s = retry_after_s(flood.error)
                if chat is not None:
                    self.hold(chat, wait_s)
                if attempt >= retries or wait_s > self._max_retry_wait_s:
                    raise flood.error from None
                attempt += 1
                logger.info("telegram %s: flood limit, retrying in %.1f s", endpoint, wait_s)
                if chat is None:
                    await self._sleep(wait_s)

    def _interval_for(self, chat: str) -> float:
        # Private chats have positive ids; groups and channels negative ids or @names.
        with contextlib.suppress(ValueError):
            if int(chat) > 0:
                return self.chat_interval_s
        return self.group_interval_s

    def _forget_past(self, now: float) -> None:
        """Chats whose slot is in the past need no entry; keeps the tables small."""
        if len(self._next_by_chat) > 1024:
            self._next_by_chat = {c: t for c, t in self._next_by_chat.items() if t > now}
            self._held_until = {c: t for c, t in self._held_until.items() if t > now}
