"""Engine events across processes (issue 17): a worker's bus to the event log, the log to the
operator side's bus.

In `waops run` the operator side hears the engine on the in-process `EventBus`. In a split
deployment the engine runs in `waops worker` processes and the operator side in `waops bot`:
an `EventPublisher` in each worker appends the events operators see to `engine_events`
(storage/repos/event_log.py) and an `EventFollower` in the bot reads them back in order and
publishes them on its own bus, so the same subscribers (pairing watchers, campaign progress,
alert rules, metrics) work unchanged on either side.

Events are JSON through pydantic's `TypeAdapter` for their dataclass (records, enums and
datetimes included), named by class in `RELAYED`. The publisher buffers what its bus published
and writes it every `flush_every_s` in one transaction; `stop()` writes what is left. So a
worker killed with `kill -9` loses at most the last moment's notifications, never data: what
they tell of is in the tables already (messages, states, recipients).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from engine.clock import Clock, SystemClock
from engine.events import (
    AIFailed,
    CampaignProgress,
    CampaignRecovered,
    CampaignStatusChanged,
    EventBus,
    HandoffRequested,
    HotLeadDetected,
    InboundSpoolFailed,
    MessageSent,
    MessageStored,
    NumberWorkerFailed,
    PairingCodeExpired,
    PairingCodeFailed,
    PairingCodeIssued,
    QrExpired,
    QrUpdated,
    SessionStateChanged,
    WorkerLost,
)
from engine.lifecycle import TwoPhase
from engine.tasks import TaskOwner
from storage.db import Database, StorageUnavailable
from storage.records import LoggedEvent
from storage.repos.event_log import EventLogRepo

logger = logging.getLogger(__name__)

RELAYED: tuple[type, ...] = (
    SessionStateChanged,
    QrUpdated,
    QrExpired,
    PairingCodeIssued,
    PairingCodeExpired,
    PairingCodeFailed,
    InboundSpoolFailed,
    HandoffRequested,
    HotLeadDetected,
    AIFailed,
    MessageStored,
    MessageSent,
    CampaignProgress,
    CampaignStatusChanged,
    CampaignRecovered,
    NumberWorkerFailed,
    WorkerLost,
)
"""The events the operator side subscribes to (bot/commands, bot/push, bot/ops)."""
PRUNE_EVERY = timedelta(hours=1)


class EventCodec:
    """Events as (kind, JSON) and back; only the `RELAYED` types."""

    def __init__(self, types: tuple[type, ...] = RELAYED) -> None:
        self._adapters: dict[str, TypeAdapter[Any]] = {t.__name__: TypeAdapter(t) for t in types}

    def kinds(self) -> list[str]:
        return list(self._adapters)

    def encode(self, event: object) -> tuple[str, str]:
        kind = type(event).__name__
        adapter = self._adapters.get(kind)
        if adapter is None:
            raise TypeError(f"{kind} is not relayed across processes (engine/relay.py RELAYED)")
        return kind, adapter.dump_json(event).decode("utf-8")

    def decode(self, kind: str, payload: str) -> object:
        adapter = self._adapters.get(kind)
        if adapter is None:
            raise TypeError(
                f"unknown event kind {kind!r}: a worker of another version wrote it;"
                " run the same waops version on the bot and the workers"
            )
        return adapter.validate_json(payload)


class EventPublisher(TwoPhase):
    """In a worker: the relayed events its bus publishes, appended to the event log."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        source: str,
        *,
        clock: Clock | None = None,
        flush_every_s: float = 0.1,
        keep: timedelta = timedelta(days=1),
        codec: EventCodec | None = None,
    ) -> None:
        """`keep`: how long events stay in the log; older ones are pruned about hourly."""
        self._log = EventLogRepo(db)
        self._keep = keep
        self._pruned_at: datetime | None = None
        self._bus = bus
        self._source = source
        self._clock = clock or SystemClock()
        self._flush_every_s = flush_every_s
        self._codec = codec or EventCodec()
        self._pending: list[tuple[str, str]] = []
        self._tasks = TaskOwner("event-publisher")
        self._stopping = asyncio.Event()
        self._started = False

    def _handlers(self) -> list[tuple[type, Callable[[Any], Awaitable[None]]]]:
        return [(event_type, self._heard) for event_type in RELAYED]

    async def _heard(self, event: object) -> None:
        self._pending.append(self._codec.encode(event))

    async def start(self) -> None:
        self._stopping.clear()
        self._bus.subscribe_all(self._handlers())
        self._started = True
        self._tasks.spawn("event-publisher:flush", self._run())

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._bus.unsubscribe_all(self._handlers())
        self._stopping.set()
        await self._tasks.shutdown(grace_s=10.0)
        await self.flush()

    async def flush(self) -> None:
        """Append what was heard; kept for the next flush when the database is away."""
        batch, self._pending = self._pending, []
        try:
            await self._log.append(self._source, batch, self._clock.now())
        except StorageUnavailable as exc:
            logger.warning("event log: %s; %d events wait for the next flush", exc, len(batch))
            self._pending[:0] = batch

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self._clock.sleep_until(
                self._clock.now() + timedelta(seconds=self._flush_every_s), self._stopping
            )
            try:
                if self._pending:
                    await self.flush()
                await self._prune()
            except Exception:  # a bug must not stop the log: later events still go out
                logger.exception("event log: a flush failed; its events are not in the log")

    async def _prune(self) -> None:
        now = self._clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            gone = await self._log.prune(now - self._keep)
        except StorageUnavailable as exc:
            logger.warning("event log: %s; pruning at the next hour", exc)
            return
        if gone:
            logger.info("event log: %d events older than %s pruned", gone, self._keep)


class EventFollower(TwoPhase):
    """In the operator process: the event log read in order and published on its bus."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        clock: Clock | None = None,
        poll_every_s: float = 0.25,
        settle: timedelta = timedelta(seconds=2),
        codec: EventCodec | None = None,
        cursor: int | None = None,
        on_advance: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """`cursor`: the id the last follower had published (None: follow from the newest);
        `on_advance` is told the new cursor after each batch, to keep it for the next one."""
        self._log = EventLogRepo(db)
        self._bus = bus
        self._clock = clock or SystemClock()
        self._poll_every_s = poll_every_s
        self._settle = settle
        self._codec = codec or EventCodec()
        self._on_advance = on_advance
        self._start_at = cursor
        self.cursor = 0
        self._tasks = TaskOwner("event-follower")
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        start_at = self._start_at
        self.cursor = await self._log.last_id() if start_at is None else start_at
        self._stopping.clear()
        self._tasks.spawn("event-follower:poll", self._run())

    async def stop(self) -> None:
        self._stopping.set()
        await self._tasks.shutdown(grace_s=10.0)

    async def poll(self) -> int:
        """Publish the events settled since the cursor; how many."""
        events = await self._log.after(self.cursor, self._clock.now(), settle=self._settle)
        for logged in events:
            await self._publish(logged)
            self.cursor = logged.id
        if events and self._on_advance is not None:
            await self._on_advance(self.cursor)
        return len(events)

    async def _publish(self, logged: LoggedEvent) -> None:
        try:
            event = self._codec.decode(logged.kind, logged.payload)
        except (TypeError, ValueError) as exc:
            logger.error("event %s from %s skipped: %s", logged.id, logged.source, exc)
            return
        await self._bus.publish(event)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                published = await self.poll()
            except StorageUnavailable as exc:
                logger.warning("event log: %s; following again shortly", exc)
                published = 0
            except Exception:  # a bug must not stop the bot hearing the workers
                logger.exception("event log: following failed; trying again shortly")
                published = 0
            if published:
                continue
            await self._clock.sleep_until(
                self._clock.now() + timedelta(seconds=self._poll_every_s), self._stopping
            )
