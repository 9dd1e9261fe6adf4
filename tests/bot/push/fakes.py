"""A test double at the remote edge: a recording admin channel (the clocks are in
tests/support/clocks.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.markup import render

from bot.push.channel import ChannelRejected, ChannelUnavailable, Outgoing
from engine.clock import Clock


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

    clock: Clock
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
        self.sent.append(Sent(chat, message, self.clock.now()))

    def texts(self, chat: str) -> list[str]:
        return [s.message.text for s in self.sent if s.chat == chat]
