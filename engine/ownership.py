"""Which sessions this `waops worker` runs: the leases it holds (storage/repos/leases.py).

Every `renew_every_s` the worker beats its heartbeat, renews what it holds and claims what is
free up to its share; it starts the browsers of sessions it gained and stops those it lost.
The timings that keep two workers from ever running one session (docs/ownership.md):

- a lease lasts `ttl_s` from its last renewal, and renewals come every `renew_every_s`
  (a third of it), so two renewals may fail before it is at risk;
- a worker that has not renewed for `stop_after_s` (by its own monotonic clock, measured from
  the start of the last renewal that succeeded) stops its browsers, before the lease can expire
  in the database and another worker can claim it;
- a worker that stalled (SIGSTOP, a frozen VM) cannot stop anything; when it wakes, its
  campaign sends are fenced: the claim that commits `sending` checks the lease at its epoch in
  the same transaction, and the new owner's claim grew the epoch.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from engine.clock import Clock
from engine.lifecycle import TwoPhase
from engine.tasks import TaskOwner
from storage.db import Database, StorageError
from storage.records import Lease, WorkerInfo
from storage.repos.leases import LeaseRepo

logger = logging.getLogger(__name__)

SessionAction = Callable[[int], Awaitable[None]]
TakenFrom = Callable[[str, list[int]], Awaitable[None]]


@dataclass(frozen=True)
class WorkerLoad:
    """A worker as `waops workers` lists it: what it said with its last heartbeat, how many
    sessions it holds now, and whether that heartbeat is younger than the lease ttl."""

    worker: WorkerInfo
    sessions: int
    alive: bool
    heartbeat_age_s: float = 0.0


async def fleet(db: Database, *, ttl_s: float, now: datetime) -> list[WorkerLoad]:
    """Every worker that ever beat (a stopped one deletes its row), with its load."""
    repo = LeaseRepo(db)
    load = Counter(lease.owner for lease in (await repo.owners(now)).values())
    return [
        WorkerLoad(
            w,
            load[w.id],
            now - w.heartbeat_at < timedelta(seconds=ttl_s),
            (now - w.heartbeat_at).total_seconds(),
        )
        for w in await repo.workers()
    ]


class Fleet:
    """The workers of a split deployment as the operator side reads them (`/workers`, the
    owner column of `/sessions`)."""

    def __init__(self, db: Database, *, ttl_s: float, clock: Clock) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._clock = clock

    async def workers(self) -> list[WorkerLoad]:
        return await fleet(self._db, ttl_s=self._ttl_s, now=self._clock.now())

    async def owners(self) -> dict[int, str]:
        """Who runs each number now, by session id (a number nobody runs is missing)."""
        leases = await LeaseRepo(self._db).owners(self._clock.now())
        return {session_id: lease.owner for session_id, lease in leases.items()}


@dataclass(frozen=True)
class OwnershipPolicy:
    worker_id: str
    capacity: int
    version: str
    ttl_s: float = 30.0
    renew_every_s: float = 10.0
    stop_after_s: float = 20.0
    """Without a renewal for this long the worker stops its sessions: under `ttl_s`, with room
    for the browsers to close before the lease expires."""

    def __post_init__(self) -> None:
        if not 0 < self.renew_every_s < self.stop_after_s < self.ttl_s:
            raise ValueError(
                "lease timings must grow: renew every < stop after < time to live"
                f" (got {self.renew_every_s}, {self.stop_after_s}, {self.ttl_s} s)"
            )
        if self.capacity < 1:
            raise ValueError(f"a worker's capacity is at least 1 session (got {self.capacity})")


class Ownership(TwoPhase):
    """Keeps this worker's leases and the sessions they cover in step.

    `adopt(session_id)` starts a session it gained (the caller recovers its interrupted sends
    and clears what the previous owner left), `disown(session_id)` stops one it lost or gives
    up. `lease_of` is what fences the writes made for a session."""

    def __init__(
        self,
        db: Database,
        policy: OwnershipPolicy,
        clock: Clock,
        *,
        adopt: SessionAction,
        disown: SessionAction,
        on_taken_from: TakenFrom | None = None,
    ) -> None:
        """`on_taken_from(worker, session_ids)`: told once per round of the sessions taken from
        a worker whose leases had expired (it died or stalled)."""
        self._on_taken_from = on_taken_from
        self.policy = policy
        self._repo = LeaseRepo(db)
        self._clock = clock
        self._adopt = adopt
        self._disown = disown
        self._leases: dict[int, Lease] = {}
        self._started_at = clock.now()
        self._renewed_at: float | None = None  # monotonic start of the last good renewal
        self._tasks = TaskOwner("ownership")
        # Stopping a browser takes seconds: it never holds up the next renewal. A session
        # being stopped is neither counted as held nor started again until it is done.
        self._leaving: dict[int, asyncio.Task[None]] = {}
        self._handovers = TaskOwner("ownership-handover")

    def lease_of(self, session_id: int) -> Lease | None:
        """The lease this worker holds on the session, while it may still act on it."""
        if not self._in_time():
            return None
        return self._leases.get(session_id)

    @property
    def held(self) -> list[int]:
        return sorted(self._leases)

    async def start(self) -> None:
        await self.tick()
        self._tasks.spawn("ownership", self._loop())

    async def stop(self) -> None:
        """Stop the sessions and give their leases up, so another worker takes them at once."""
        await self._tasks.shutdown(grace_s=0)
        await self._handovers.shutdown(grace_s=self.policy.ttl_s)
        for session_id in list(self._leases):
            await self._disown(session_id)
        self._leases.clear()
        try:
            await self._repo.leave(self.policy.worker_id)
        except StorageError as exc:
            logger.warning("could not release the leases (they expire on their own): %s", exc)

    async def _loop(self) -> None:
        every = timedelta(seconds=self.policy.renew_every_s)
        never = asyncio.Event()  # rounds only follow the clock; `stop` cancels the loop
        while True:
            await self._clock.sleep_until(self._clock.now() + every, never)
            await self._round()

    async def _round(self) -> None:
        """`tick`, where a bug must not end the rounds: the leases would lapse while this
        worker's browsers run on. It counts as a round without a renewal."""
        try:
            await self.tick()
        except Exception:
            logger.exception("the lease round failed")
            if not self._in_time():
                self._give_up(f"no renewal for {self.policy.stop_after_s:.0f} s")

    async def tick(self) -> None:
        """One round: heartbeat, renew, claim; then start what was gained, stop what was lost."""
        policy, began = self.policy, self._clock.monotonic()
        now = self._clock.now()
        ttl = timedelta(seconds=policy.ttl_s)
        me = WorkerInfo(policy.worker_id, policy.capacity, policy.version, self._started_at, now)
        try:
            # A database that does not answer must not hold the round past the next one.
            async with asyncio.timeout(policy.renew_every_s):
                await self._repo.heartbeat(me)
                held = await self._repo.renew(policy.worker_id, ttl=ttl, now=now)
                gained = await self._repo.claim(
                    policy.worker_id, capacity=policy.capacity, ttl=ttl, now=now
                )
        except (StorageError, TimeoutError) as exc:
            logger.warning("could not renew the session leases: %s", exc)
            if not self._in_time():
                self._give_up(f"no renewal for {policy.stop_after_s:.0f} s")
            return
        self._renewed_at = began
        before = self._leases
        now_held = {
            lease.session_id: lease
            for lease in held + gained
            if lease.session_id not in self._leaving
        }
        self._leases = now_held
        lost = sorted(set(before) - set(now_held))
        for session_id in lost:
            logger.warning("session %s: its lease was lost; stopping it here", session_id)
        self._hand_over(lost, release=False)
        # Held but not known here too: a claim whose answer a timeout cut off.
        for session_id in sorted(set(now_held) - set(before)):
            logger.info("session %s: taken (epoch %d)", session_id, now_held[session_id].epoch)
            await self._adopt(session_id)
        await self._tell_taken_from(gained)
        await self._shed(ttl, now)

    async def _tell_taken_from(self, gained: list[Lease]) -> None:
        if self._on_taken_from is None:
            return
        by_owner: dict[str, list[int]] = {}
        for lease in gained:
            if lease.taken_from is not None:
                by_owner.setdefault(lease.taken_from, []).append(lease.session_id)
        for lost, session_ids in sorted(by_owner.items()):
            await self._on_taken_from(lost, session_ids)

    async def _shed(self, ttl: timedelta, now: datetime) -> None:
        """Give up what is over this worker's share (another worker started): each session's
        browser stops here before its lease is released, so the next owner finds its profile
        free."""
        policy = self.policy
        try:
            excess = await self._repo.excess(
                policy.worker_id, capacity=policy.capacity, ttl=ttl, now=now
            )
        except StorageError as exc:
            logger.warning("could not even out the sessions: %s", exc)
            return
        excess = [session_id for session_id in excess if session_id in self._leases]
        for session_id in excess:
            logger.info("session %s: handed over to even out the workers", session_id)
            self._leases.pop(session_id)
        self._hand_over(excess, release=True)

    def _hand_over(self, session_ids: list[int], *, release: bool) -> None:
        """Stop each session's browser in the background, then (`release`) give its lease up."""
        for session_id in session_ids:
            task = self._handovers.spawn(
                f"hand-over:{session_id}", self._stop_one(session_id, release=release)
            )
            self._leaving[session_id] = task
            task.add_done_callback(partial(self._left, session_id))

    async def handed_over(self) -> None:
        """Until the sessions being stopped here are stopped (and released, when shed)."""
        if self._leaving:
            await asyncio.wait(list(self._leaving.values()))

    def _left(self, session_id: int, _task: asyncio.Task[None]) -> None:
        self._leaving.pop(session_id, None)

    async def _stop_one(self, session_id: int, *, release: bool) -> None:
        await self._disown(session_id)
        if release:
            try:
                await self._repo.release(self.policy.worker_id, [session_id])
            except StorageError as exc:  # it expires on its own, unrenewed
                logger.warning("session %s: could not release its lease: %s", session_id, exc)

    def _in_time(self) -> bool:
        renewed = self._renewed_at
        return renewed is not None and self._clock.monotonic() - renewed < self.policy.stop_after_s

    def _give_up(self, why: str) -> None:
        logger.error("stopping every session of this worker: %s", why)
        lost, self._leases = sorted(self._leases), {}
        self._hand_over(lost, release=False)
