"""Test doubles at the remote edge: a recording admin channel and a clock tests move by hand."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rich.markup import render

from bot.push.channel import ChannelRejected, ChannelUnavailable, Outgoing


@dataclass
class Sent:
    chat: str
    message: Outgoing
    at: datetime


@dataclass
class RecordingChannel:
    """An `AdminChannel` that records what it delivers; `unavailable` makes it answer like a
    platform that is down (ChannelUnavailable), `rejected_chats` like a bot blocked there, and
    `markup` like an adapter with a bug: it reads the text as Rich markup, as the console channel
    once did, so `[/]` raises rich's MarkupError."""

    clock: object
    prefix: str = "tg"
    text_limit: int = 4096
    min_interval_s: float = 0.0
    unavailable: bool = False
    retry_after_s: float | None = None
    rejected_chats: set[str] = field(default_factory=set)
    markup: bool = False
    sent: list[Sent] = field(default_factory=list)
    attempts: int = 0

    async def deliver(self, chat: str, message: Outgoing) -> None:
        self.attempts += 1
        if self.unavailable:
            raise ChannelUnavailable("502 Bad Gateway", self.retry_after_s)
        if chat in self.rejected_chats:
            raise ChannelRejected("Forbidden: bot was blocked by the user")
        if self.markup:
            render(message.text)
        assert len(message.text) <= self.text_limit, "a message over the platform limit"
        self.sent.append(Sent(chat, message, self.clock.now()))  # type: ignore[attr-defined]

    def texts(self, chat: str) -> list[str]:
        return [s.message.text for s in self.sent if s.chat == chat]


class ManualClock:
    """Time moves only when the test calls `advance`; sleepers whose time has come wake then.

    The `wake` event of `sleep_until` is only looked at on entry: the parts under test that
    sleep on this clock (timers) are stopped by cancellation, not by their event.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> bool:
        if wake.is_set():
            return True
        if when <= self._now:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((when, future))
        await future
        return False

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        due = [(w, f) for w, f in self._sleepers if w <= self._now]
        self._sleepers = [(w, f) for w, f in self._sleepers if w > self._now]
        for _when, future in due:
            if not future.done():
                future.set_result(None)
