"""Telegram's flood limits, kept on our side: per chat, per group and for the whole bot.

PTB's `AIORateLimiter` needs the optional `aiolimiter` package, which waops does not install;
this one is small, has no dependency and takes its clock and sleep from the caller, so tests
check the spacing without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]

PRIVATE_CHAT_INTERVAL_S = 1.0
"""Telegram: about one message per second in one chat."""
GROUP_CHAT_INTERVAL_S = 3.0
"""Telegram: at most 20 messages per minute in one group."""
OVERALL_PER_S = 30.0
"""Telegram: about 30 messages per second for the whole bot."""


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


class TelegramRateLimiter(BaseRateLimiter[FloodRetries]):
    """Spaces every request that names a chat: per chat, per group and overall.

    Each request reserves the next free slot before it waits, without awaiting in between,
    so concurrent senders keep their order and never share a slot. A `RetryAfter` holds every
    chat request until the wait is over, then the request is retried up to `max_retries`
    times; `rate_limit_args` (PTB's per-call argument, a `FloodRetries`) overrides that count.
    Requests without a chat (getUpdates, answerCallbackQuery, getFile) are not held.
    """

    def __init__(
        self,
        *,
        chat_interval_s: float = PRIVATE_CHAT_INTERVAL_S,
        group_interval_s: float = GROUP_CHAT_INTERVAL_S,
        overall_per_s: float = OVERALL_PER_S,
        max_retries: int = 1,
        max_retry_wait_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.chat_interval_s = chat_interval_s
        self.group_interval_s = group_interval_s
        self._overall_interval_s = 1.0 / overall_per_s if overall_per_s > 0 else 0.0
        self._max_retries = max_retries
        self._max_retry_wait_s = max_retry_wait_s
        self._clock = clock
        self._sleep = sleep
        self._next_by_chat: dict[str, float] = {}
        self._next_overall = 0.0
        self._held_until = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def reserve(self, chat: str) -> float:
        """Book the next slot for a message to `chat`; returns how long to wait for it."""
        now = self._clock()
        self._forget_past(now)
        slot = max(now, self._held_until, self._next_overall, self._next_by_chat.get(chat, now))
        self._next_overall = slot + self._overall_interval_s
        self._next_by_chat[chat] = slot + self._interval_for(chat)
        return slot - now

    def hold(self, wait_s: float) -> None:
        """Telegram said to wait: no chat request goes out before `wait_s` from now."""
        self._held_until = max(self._held_until, self._clock() + wait_s)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: FloodRetries | None,
    ) -> Result:
        """Wait for this chat's slot, call, and on `RetryAfter` hold everything and retry."""
        chat = data.get("chat_id")
        retries = self._max_retries if rate_limit_args is None else rate_limit_args.count
        attempt = 0
        while True:
            if chat is not None:
                wait_s = self.reserve(str(chat))
                if wait_s > 0:
                    await self._sleep(wait_s)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait_s = retry_after_s(exc)
                self.hold(wait_s)
                if attempt >= retries or wait_s > self._max_retry_wait_s:
                    raise
                attempt += 1
                logger.info("telegram %s: flood limit, retrying in %.1f s", endpoint, wait_s)

    def _interval_for(self, chat: str) -> float:
        # Private chats have positive ids; groups and channels negative ids or @names.
        with contextlib.suppress(ValueError):
            if int(chat) > 0:
                return self.chat_interval_s
        return self.group_interval_s

    def _forget_past(self, now: float) -> None:
        """Chats whose slot is in the past need no entry; keeps the table small."""
        if len(self._next_by_chat) > 1024:
            self._next_by_chat = {c: t for c, t in self._next_by_chat.items() if t > now}
