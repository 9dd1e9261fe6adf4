"""Where operator messages go: one `AdminChannel` per platform, behind a persisted outbox.

Every message (alert, digest, forwarded chat) is first written to `alert_deliveries`; a worker
delivers them in order per chat, never faster than the chat's platform allows
(`min_interval_s`), and retries with backoff while a platform is unavailable. Because the outbox
is in the database, an outage of Telegram or Slack, or a restart, loses nothing.

Attempts are bounded. A message that breaks its adapter (a bug, not the platform) holds neither
its platform nor, beyond a few quick retries, its chat: it becomes a dead letter, kept with its
last error and written to the audit log. Right before each attempt the outbox checks that the
chat still belongs to someone allowed to receive it; what they lost the right to is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.push.channel import (
    MAX_MESSAGES,
    AdminChannel,
    Button,
    ChannelRejected,
    ChannelUnavailable,
    Outgoing,
    split_chat,
    split_text,
)
from engine.clock import Clock, SystemClock
from engine.retry import Backoff
from engine.tasks import TaskOwner
from storage.db import Database, StorageUnavailable
from storage.records import Content, Delivery
from storage.repos.outbox import MAX_ATTACHMENT_BYTES, OutboxRepo

logger = logging.getLogger(__name__)

DEFAULT_BACKOFF = Backoff(initial_s=5.0, max_s=900.0, jitter=0.2)
DEFAULT_MAX_ATTEMPTS = 50
"""Attempts while a platform is unavailable: about ten hours at the backoff's 15-minute cap,
so an outage loses nothing, but a message that times out every time does not wait forever."""
DEFAULT_POISON_ATTEMPTS = 3
"""Attempts at a message its adapter raises on (an unexpected error): about 15 s of its chat."""
MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES
"""A text sent as a file is cut here: the most one outbox delivery carries (7 MiB)."""


def to_outgoing(content: Content) -> Outgoing:
    return Outgoing(
        content.text,
        content.image,
        content.file_name,
        content.file_data,
        tuple(Button(label, command) for label, command in content.buttons),
    )


@dataclass(frozen=True)
class _Pass:
    """What one pass over the outbox did and when the next one has work."""

    attempted: bool
    paced_until: datetime | None
    retry_at: datetime | None


class AdminChannels:
    """Routes messages to operator chats (`tg:123`, `slack:C1`, `console`) through the outbox.

    `register()` the platforms' channels, then `start()` the worker (or, in tests, call
    `run_until_idle()`). A channel registered with `ready=False` (its platform not reached yet)
    takes messages, which wait in the outbox until `set_ready()`. `needs_start` names the
    platforms where the bot may write to a person only after they wrote to it first (/start on
    Telegram).
    """

    def __init__(
        self,
        db: Database,
        channels: Iterable[AdminChannel] = (),
        *,
        clock: Clock | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        needs_start: Iterable[str] = ("tg",),
        delivery_timeout_s: float = 30.0,
        idle_check_s: float = 300.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        poison_attempts: int = DEFAULT_POISON_ATTEMPTS,
        rng: random.Random | None = None,
    ) -> None:
        self.on_outcome: Callable[[str], None] = lambda _outcome: None
        """Told `sent`, `retry`, `rejected`, `error` (the adapter raised), `dead` (given up) or
        `cancelled` (the chat may not have it any more) after each delivery looked at (metrics)."""
        self._outbox = OutboxRepo(db)
        self._channels: dict[str, AdminChannel] = {}
        self._clock = clock or SystemClock()
        self._backoff = backoff
        self.needs_start = tuple(needs_start)
        self._timeout_s = delivery_timeout_s
        self._idle_check_s = idle_check_s
        self._max_attempts = max_attempts
        self._poison_attempts = poison_attempts
        self._rng = rng or random.Random()
        self._last_sent: dict[str, datetime] = {}
        self._paused: dict[str, datetime] = {}
        self._unknown_warned: set[str] = set()
        self._not_ready: set[str] = set()
        self._resumed: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks = TaskOwner("admin-channels")
        self._stopping = False
        for channel in channels:
            self.register(channel)

    def register(self, channel: AdminChannel, *, ready: bool = True) -> None:
        if channel.prefix in self._channels:
            raise ValueError(f"an admin channel for {channel.prefix!r} is registered already")
        self._channels[channel.prefix] = channel
        self.set_ready(channel.prefix, ready)

    def set_ready(self, prefix: str, ready: bool = True) -> None:
        """Whether `prefix`'s platform can take messages now; what waited goes out when it can,
        without waiting for a retry scheduled while it was down."""
        if ready:
            self._not_ready.discard(prefix)
            self._paused.pop(prefix, None)
            self._resumed.add(prefix)
        else:
            self._not_ready.add(prefix)
        self.poke()

    def channel_for(self, chat_ref: str) -> AdminChannel | None:
        return self._channels.get(split_chat(chat_ref)[0])

    def pack(
        self, chat_ref: str, message: Outgoing, *, file_caption: str = "", file_name: str = ""
    ) -> list[Content]:
        """`message` as deliveries that fit the chat's platform: an image or file first, the text
        split on lines (or as a text file when it would take more than a few messages), buttons
        on the last one. Empty when no channel serves that chat."""
        channel = self.channel_for(chat_ref)
        if channel is None:
            return []
        contents: list[Content] = []
        if message.image is not None:
            contents.append(Content("", image=message.image))
        if message.file_data is not None:
            contents.append(Content("", file_name=message.file_name, file_data=message.file_data))
        chunks = split_text(message.text, channel.text_limit)
        if len(chunks) > MAX_MESSAGES:
            data = message.text.encode("utf-8")[:MAX_FILE_BYTES]
            caption = split_text(file_caption, channel.text_limit)[:1] or [""]
            contents.append(Content(caption[0], file_name=file_name or "waops.txt", file_data=data))
        else:
            contents += [Content(chunk) for chunk in chunks]
        if message.buttons:
            buttons = tuple((b.label, b.command) for b in message.buttons)
            last = contents.pop() if contents else Content("")
            contents.append(Content(last.text, buttons, last.image, last.file_name, last.file_data))
        return contents

    async def send(
        self,
        chat_ref: str,
        message: Outgoing,
        *,
        file_caption: str = "",
        file_name: str = "",
        alert_id: int | None = None,
    ) -> int:
        """Queue `message` for `chat_ref` (persisted) and wake the worker; how many deliveries."""
        contents = self.pack(chat_ref, message, file_caption=file_caption, file_name=file_name)
        if contents:
            await self._outbox.enqueue(chat_ref, contents, self._clock.now(), alert_id)
            self.poke()
        return len(contents)

    def poke(self) -> None:
        """Something was queued: deliver it without waiting for the next check."""
        self._wake.set()

    # -- delivery ----------------------------------------------------------------------------

    async def run_until_idle(self) -> None:
        """Deliver everything that can go now, waiting (on the clock) only for per-chat pacing;
        return when the outbox is empty or what is left waits for a retry. For tests."""
        while True:
            done = await self._pass()
            if done.attempted:
                continue
            if done.paced_until is None:
                return
            await self._clock.sleep_until(done.paced_until, asyncio.Event())

    async def start(self) -> None:
        self._stopping = False
        self._tasks.spawn("admin-channels:outbox", self._run())

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await self._tasks.shutdown(grace_s=self._timeout_s)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                done = await self._pass()
            except StorageUnavailable as exc:
                logger.warning("outbox: %s; retrying in 5 s", exc)
                await self._clock.sleep_until(self._clock.now() + timedelta(seconds=5), self._wake)
                continue
            if done.attempted:
                continue
            fallback = self._clock.now() + timedelta(seconds=self._idle_check_s)
            wake_at = min(t for t in (done.paced_until, done.retry_at, fallback) if t is not None)
            await self._clock.sleep_until(wake_at, self._wake)

    async def _pass(self) -> _Pass:
        """One attempt at the head of every chat that is due and not held by pacing."""
        attempted = False
        paced: list[datetime] = []
        retries: list[datetime] = []
        resumed, self._resumed = self._resumed, set()
        for delivery in await self._outbox.heads():
            now = self._clock.now()
            prefix, chat = split_chat(delivery.chat_ref)
            channel = self._channels.get(prefix)
            if channel is None:
                if prefix not in self._unknown_warned:
                    self._unknown_warned.add(prefix)
                    logger.warning("outbox: no admin channel for %r; messages wait", prefix)
                continue
            if prefix in self._not_ready:
                continue  # its platform is not reached yet: set_ready() wakes us
            scheduled = now if prefix in resumed else delivery.next_attempt_at
            held_until = max(scheduled, self._paused.get(prefix, now))
            if held_until > now:
                retries.append(held_until)
                continue
            last = self._last_sent.get(delivery.chat_ref)
            if last is not None:
                ready_at = last + timedelta(seconds=channel.min_interval_s)
                if ready_at > now:
                    paced.append(ready_at)
                    continue
            await self._attempt(channel, prefix, chat, delivery)
            attempted = True
        return _Pass(attempted, min(paced, default=None), min(retries, default=None))

    async def _attempt(
        self, channel: AdminChannel, prefix: str, chat: str, delivery: Delivery
    ) -> None:
        refusal = await self._outbox.refusal(delivery)
        if refusal is not None:
            logger.info("outbox: delivery %s cancelled: %s", delivery.id, refusal)
            await self._outbox.cancel(delivery.id, refusal)
            self.on_outcome("cancelled")
            return
        self._last_sent[delivery.chat_ref] = self._clock.now()
        try:
            async with asyncio.timeout(self._timeout_s):
                await channel.deliver(chat, to_outgoing(delivery.content))
        except ChannelRejected as exc:
            logger.warning("outbox: %s refused delivery %s: %s", prefix, delivery.id, exc)
            await self._outbox.mark_failed(delivery.id, f"rejected: {exc}")
            self.on_outcome("rejected")
            return
        except (ChannelUnavailable, TimeoutError) as exc:
            error = f"unavailable: {exc}"
            if await self._gave_up(delivery, error, self._max_attempts):
                return
            asked_s = getattr(exc, "retry_after_s", None) or 0.0
            # The platform is down for every chat: hold the others too instead of hammering it.
            self._paused[prefix] = await self._retry_later(delivery, error, asked_s)
            self.on_outcome("retry")
            return
        except Exception as exc:  # an adapter bug: this message's problem, not the platform's
            logger.exception("outbox: %s failed on delivery %s", prefix, delivery.id)
            error = f"{type(exc).__name__}: {exc}"
            if not await self._gave_up(delivery, error, self._poison_attempts):
                await self._retry_later(delivery, error, 0.0)
                self.on_outcome("error")
            return
        await asyncio.shield(self._outbox.mark_sent(delivery.id, self._clock.now()))
        self.on_outcome("sent")

    async def _gave_up(self, delivery: Delivery, error: str, limit: int) -> bool:
        """After `limit` attempts (every attempt counts), `delivery` is a dead letter."""
        if delivery.attempts + 1 < limit:
            return False
        logger.error(
            "outbox: gave up on delivery %s to %s after %d attempts: %s",
            delivery.id,
            delivery.chat_ref,
            delivery.attempts + 1,
            error,
        )
        await self._outbox.mark_dead(delivery, error)
        self.on_outcome("dead")
        return True

    async def _retry_later(self, delivery: Delivery, error: str, asked_s: float) -> datetime:
        delay_s = max(self._backoff.delay_s(delivery.attempts, self._rng), asked_s)
        retry_at = self._clock.now() + timedelta(seconds=delay_s)
        logger.info("outbox: delivery %s retries at %s", delivery.id, retry_at)
        await self._outbox.reschedule(delivery.id, error, retry_at)
        return retry_at
