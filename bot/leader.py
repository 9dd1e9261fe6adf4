"""Which `waops bot` is active (issue 17): a leader lease, a standby that waits for it.

Two bots polling one Telegram token conflict (getUpdates: "terminated by other getUpdates
request", 409) and two outboxes would deliver every alert twice, so a bot runs its operator
side only while it holds the lease (storage/repos/leader.py). `acquire()` waits, looking every
`renew_every_s`, until the lease is free or expired; the holder then renews it every
`renew_every_s` and keeps the event log cursor in it. A holder that could not renew for
`stop_after_s` (the database away, the process stalled) calls `on_lost` before the lease can
expire, so it has stopped before a standby takes over; `waops bot` then exits and its
supervisor (Kubernetes) starts it again, as a standby.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from engine.clock import Clock, SystemClock
from engine.lifecycle import TwoPhase
from engine.tasks import TaskOwner
from storage.db import Database, StorageUnavailable
from storage.records import LeaderLease
from storage.repos.leader import LeaderRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaderPolicy:
    holder: str
    ttl_s: float = 15.0
    renew_every_s: float = 5.0
    stop_after_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.renew_every_s < self.stop_after_s < self.ttl_s:
            raise ValueError(
                "leader lease timings must grow: renew every < stop after < time to live"
                f" (got {self.renew_every_s}, {self.stop_after_s}, {self.ttl_s} s)"
            )


class Leadership(TwoPhase):
    """The lease of the active bot: `acquire()` (waits as a standby), then renewed until
    `stop()`, which gives it up at once for the standby."""

    def __init__(
        self,
        db: Database,
        policy: LeaderPolicy,
        *,
        clock: Clock | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._repo = LeaderRepo(db)
        self.policy = policy
        self._clock = clock or SystemClock()
        self.on_lost = on_lost
        self.lease: LeaderLease | None = None
        self._renewed_at = 0.0  # monotonic time of the last renewal that worked
        self._tasks = TaskOwner("leader")
        self._stopping = asyncio.Event()
        self.lost = asyncio.Event()

    @property
    def state(self) -> str:
        """For `/healthz`: `active`, `standby` (waiting for the lease) or `lost`."""
        if self.lost.is_set():
            return "lost"
        return "active" if self.lease is not None else "standby"

    async def acquire(self) -> LeaderLease:
        """Wait until this bot holds the lease."""
        waited = False
        ttl = timedelta(seconds=self.policy.ttl_s)
        while True:
            try:
                lease = await self._repo.acquire(self.policy.holder, ttl=ttl, now=self._clock.now())
            except StorageUnavailable as exc:
                logger.warning("leader lease: %s; trying again", exc)
                lease = None
            if lease is not None:
                self.lease = lease
                self._renewed_at = time.monotonic()
                logger.info("this bot (%s) is the active one, epoch %s", lease.holder, lease.epoch)
                return lease
            if not waited:
                current = await self._repo.current(self._clock.now())
                holder = current.holder if current is not None else "another bot"
                logger.info("standby: %s is the active bot; waiting for its lease", holder)
                waited = True
            await asyncio.sleep(self.policy.renew_every_s)

    async def start(self) -> None:
        if self.lease is None:
            await self.acquire()
        self._stopping.clear()
        self._tasks.spawn("leader:renew", self._run())

    async def stop(self) -> None:
        self._stopping.set()
        await self._tasks.shutdown(grace_s=5.0)
        lease, self.lease = self.lease, None
        if lease is not None and not self.lost.is_set():
            try:
                await self._repo.release(lease)
            except StorageUnavailable as exc:
                logger.warning("leader lease not released (%s): it expires on its own", exc)

    async def save_cursor(self, cursor: int) -> None:
        """Keep the event log cursor in the lease, for the next active bot."""
        lease = self.lease
        if lease is None or self.lost.is_set():
            return
        if not await self._repo.save_cursor(lease, cursor, self._clock.now()):
            self._lose("another bot holds the lease")

    async def _run(self) -> None:
        policy = self.policy
        ttl = timedelta(seconds=policy.ttl_s)
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=policy.renew_every_s)
                return
            except TimeoutError:
                pass
            if time.monotonic() - self._renewed_at > policy.stop_after_s:
                self._lose(f"not renewed for {policy.stop_after_s:.0f} s")
                return
            try:
                lease = await self._repo.acquire(policy.holder, ttl=ttl, now=self._clock.now())
            except StorageUnavailable as exc:
                logger.warning("leader lease not renewed: %s", exc)
                continue
            except Exception:
                # A bug here must not end the loop: the lease would lapse while this bot goes
                # on acting as the active one. It counts as a renewal that did not happen.
                logger.exception("leader lease not renewed")
                continue
            if lease is None or (self.lease is not None and lease.epoch != self.lease.epoch):
                self._lose("another bot took the lease")
                return
            self.lease = lease
            self._renewed_at = time.monotonic()

    def _lose(self, why: str) -> None:
        if self.lost.is_set():
            return
        logger.error("this bot is no longer the active one (%s): stopping", why)
        self.lost.set()
        if self.on_lost is not None:
            self.on_lost()
