"""What people who are not operators get: one refusal per chat per window, within a budget.

Without this, every stranger's message cost a refusal out of the bot-wide send budget and an
audit row, so a flood of strangers (10,000 strings: 272 s in bench/faults.py) held operators'
answers behind theirs. The limits:

- one refusal per chat per `STRANGER_WINDOW_S` (10 minutes): a person who tries the bot learns
  once that it is not for them; repeating the command within minutes changes nothing, so it
  costs nothing. Ten minutes, not an hour, so someone who comes back later (or was told to ask
  for access in between) is told again;
- refusals have their own small bot-wide budget per platform (`STRANGER_REFUSALS_PER_S`, burst
  `STRANGER_REFUSAL_BURST`), far under the platforms' own: Telegram takes about 30 messages/s
  for the whole bot and 1/s per chat (https://core.telegram.org/bots/faq, "My bot is hitting
  limits"); Slack posts about 1 message/s per channel, short bursts allowed
  (https://api.slack.com/docs/rate-limits, "Posting messages"). A refusal over budget is
  dropped, never queued, and counted (`dropped`, and a log line at most once a minute), so
  operators' replies never wait behind strangers';
- one audit row per actor per window; the attempts after it are counted in memory and written
  into that row (`set_detail`) when the window closes, or at `flush()`.

The tables are bounded (`max_tracked`): the oldest entry goes first, its count written.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from bot.commands.base import CommandRequest
from engine.clock import Clock
from storage.records import AuditResult
from storage.repos import AuditRepo

logger = logging.getLogger(__name__)

STRANGER_WINDOW_S: Final = 600.0
STRANGER_REFUSALS_PER_S: Final = 1.0
"""Sustained refusals per second per platform: 1/30 of Telegram's bot-wide budget."""
STRANGER_REFUSAL_BURST: Final = 5
MAX_TRACKED: Final = 10_000
_DROP_LOG_EVERY_S: Final = 60.0
_COMMAND_CHARS: Final = 64
_DETAIL_CHARS: Final = 1000

Send = Callable[[str], Awaitable[None]]


@dataclass
class _Window:
    """One actor's audit window: its row, and the attempts since that row."""

    ends_s: float
    detail: str
    audit_id: int | None = None
    repeats: int = 0
    written: int = 0


@dataclass
class _Bucket:
    tokens: float
    at_s: float


@dataclass
class StrangerCounts:
    """What the gate did, for a metric or a log line."""

    refused: int = 0
    repeats: int = 0
    dropped: int = 0
    audited: int = 0
    by_platform_dropped: dict[str, int] = field(default_factory=dict)


class StrangerGate:
    """Refuses strangers within the limits above; windows are counted in `clock.monotonic()`."""

    def __init__(
        self,
        audit: AuditRepo,
        *,
        clock: Clock,
        window_s: float = STRANGER_WINDOW_S,
        refusals_per_s: float = STRANGER_REFUSALS_PER_S,
        burst: int = STRANGER_REFUSAL_BURST,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self._audit = audit
        self._clock = clock
        self.window_s = window_s
        self.refusals_per_s = refusals_per_s
        self.burst = burst
        self._max_tracked = max_tracked
        # Insertion order is expiry order (every window is as long), so expiry pops the front.
        self._actors: OrderedDict[str, _Window] = OrderedDict()
        self._chats: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._buckets: dict[str, _Bucket] = {}
        self.counts = StrangerCounts()
        self._dropped_since_log = 0
        self._last_drop_log_s: float | None = None

    async def turn_away(
        self, request: CommandRequest, what: str, detail: str, send: Send | None, text: str
    ) -> bool:
        """Audit the attempt (within the limits) and refuse it if allowed; True if refused.

        Everything is decided before the first await, so concurrent updates from one chat
        cannot both be answered.
        """
        now = self._clock.monotonic()
        closed = self._expire(now)
        window = self._actors.get(request.actor)
        new_row = window is None
        if window is None:
            window = _Window(now + self.window_s, detail)
            self._actors[request.actor] = window
            closed += self._trim_actors()
        else:
            window.repeats += 1
            self.counts.repeats += 1
        refuse = send is not None and self._may_refuse(request, now)
        for old in closed:
            await self._write_count(old)
        if new_row:
            window.audit_id = await self._record(request, what, detail)
        if refuse and send is not None:
            self.counts.refused += 1
            await send(text)
        return refuse

    async def flush(self) -> None:
        """Write the counts of every open window (at shutdown); the windows stay open."""
        for window in list(self._actors.values()):
            await self._write_count(window)

    def _may_refuse(self, request: CommandRequest, now: float) -> bool:
        chat = (request.platform, request.channel)
        if chat in self._chats:
            return False  # refused in this window already
        if not self._take(request.platform, now):
            self.counts.dropped += 1
            dropped = self.counts.by_platform_dropped
            dropped[request.platform] = dropped.get(request.platform, 0) + 1
            self._log_drop(now)
            return False
        self._chats[chat] = now + self.window_s
        while len(self._chats) > self._max_tracked:
            self._chats.popitem(last=False)
        return True

    def _take(self, platform: str, now: float) -> bool:
        """A token from `platform`'s refusal bucket, if there is one."""
        bucket = self._buckets.get(platform)
        if bucket is None:
            bucket = self._buckets[platform] = _Bucket(float(self.burst), now)
        elapsed = max(0.0, now - bucket.at_s)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.refusals_per_s)
        bucket.at_s = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _expire(self, now: float) -> list[_Window]:
        while self._chats:
            chat, ends_s = next(iter(self._chats.items()))
            if ends_s > now:
                break
            del self._chats[chat]
        closed = []
        while self._actors:
            actor, window = next(iter(self._actors.items()))
            if window.ends_s > now:
                break
            del self._actors[actor]
            closed.append(window)
        return closed

    def _trim_actors(self) -> list[_Window]:
        closed = []
        while len(self._actors) > self._max_tracked:
            closed.append(self._actors.popitem(last=False)[1])
        return closed

    def _log_drop(self, now: float) -> None:
        self._dropped_since_log += 1
        last = self._last_drop_log_s
        if last is not None and now - last < _DROP_LOG_EVERY_S:
            return
        logger.warning(
            "strangers: %d refusal(s) dropped over the budget of %.1f/s (burst %d); %d in all",
            self._dropped_since_log,
            self.refusals_per_s,
            self.burst,
            self.counts.dropped,
        )
        self._dropped_since_log = 0
        self._last_drop_log_s = now

    async def _record(self, request: CommandRequest, what: str, detail: str) -> int | None:
        """The window's audit row; a failing write is logged and never stops the refusal."""
        try:
            entry = await self._audit.record(
                request.actor,
                request.platform,
                what[:_COMMAND_CHARS],
                "",  # nothing past a stranger's command word is read
                AuditResult.DENIED,
                detail=detail[:_DETAIL_CHARS],
            )
        except Exception:
            logger.exception("audit lost: %s %s denied (%s)", request.actor, what, detail)
            return None
        self.counts.audited += 1
        return entry.id

    async def _write_count(self, window: _Window) -> None:
        repeats = window.repeats
        if window.audit_id is None or repeats == window.written:
            return
        window.written = repeats
        detail = f"{window.detail}; {repeats} more attempt(s) within {self.window_s:.0f} s"
        try:
            await self._audit.set_detail(window.audit_id, detail[:_DETAIL_CHARS])
        except Exception:
            window.written = 0
            logger.exception("audit: could not count %d more attempts", repeats)
