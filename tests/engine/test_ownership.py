"""A worker's sessions follow its leases (engine/ownership.py): it takes its share and starts
those sessions, sheds the excess when another worker starts, stops a session whose lease it
lost, stops everything when it cannot renew in time, and gives all back when it stops."""

from __future__ import annotations

import asyncio

import pytest

from engine.ownership import Ownership, OwnershipPolicy
from storage.db import Database, StorageUnavailable
from storage.repos import ClientRepo, SessionRepo
from storage.repos.leases import LeaseRepo
from tests.support.clocks import ManualClock

TTL_S = 30.0


class Node:
    """One worker: its ownership and what it started and stopped, in order."""

    def __init__(self, db: Database, name: str, clock: ManualClock, capacity: int = 10) -> None:
        self.events: list[tuple[str, int]] = []
        self.taken_from: list[tuple[str, list[int]]] = []
        self.closing: asyncio.Event | None = None  # set: a browser takes until it is set
        self.ownership = Ownership(
            db,
            OwnershipPolicy(name, capacity, "test", TTL_S, TTL_S / 3, TTL_S * 2 / 3),
            clock,
            adopt=self._adopt,
            disown=self._disown,
            on_taken_from=self._taken_from,
        )

    async def _taken_from(self, lost: str, session_ids: list[int]) -> None:
        self.taken_from.append((lost, session_ids))

    async def tick(self) -> None:
        """One round, and the browsers it stops are stopped."""
        await self.ownership.tick()
        await self.ownership.handed_over()

    async def _adopt(self, session_id: int) -> None:
        self.events.append(("start", session_id))

    async def _disown(self, session_id: int) -> None:
        if self.closing is not None:
            await self.closing.wait()
        self.events.append(("stop", session_id))

    @property
    def running(self) -> set[int]:
        running: set[int] = set()
        for what, session_id in self.events:
            (running.add if what == "start" else running.discard)(session_id)
        return running


@pytest.fixture
async def sessions(db: Database) -> list[int]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    return [(await SessionRepo(db).add(client.id, f"n{n}")).id for n in range(4)]


async def test_a_second_worker_gets_half_and_stopping_hands_everything_over(
    db: Database, sessions: list[int]
) -> None:
    clock = ManualClock()
    a, b = Node(db, "a", clock), Node(db, "b", clock)
    await a.tick()
    assert a.running == set(sessions), "alone, it takes everything"
    await b.tick()  # b's heartbeat is in; everything is a's still
    assert b.running == set()
    clock.advance(10)
    await a.tick()  # a sees b: it stops and releases what is over its half
    assert a.running == set(sessions[:2]) and a.events[-2:] == [
        ("stop", sessions[3]),
        ("stop", sessions[2]),
    ]
    await b.tick()
    assert b.running == set(sessions[2:])
    assert b.taken_from == [], "a hand-over is no loss: a released them"
    assert all(a.ownership.lease_of(s) is not None for s in sessions[:2])
    assert a.ownership.lease_of(sessions[2]) is None

    await a.ownership.stop()  # SIGTERM: stop the browsers, release the leases
    assert a.running == set()
    await b.tick()
    assert b.running == set(sessions), "b takes a's at once, without waiting for expiry"


async def test_a_worker_that_cannot_renew_stops_its_sessions_before_the_lease_expires(
    db: Database, sessions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    a = Node(db, "a", clock)
    await a.tick()
    assert a.running == set(sessions)

    async def unreachable(*_args: object, **_kwargs: object) -> None:
        raise StorageUnavailable("database unavailable: connection refused")

    monkeypatch.setattr(LeaseRepo, "heartbeat", unreachable)
    clock.advance(10)
    await a.tick()
    assert a.running == set(sessions), "one failed renewal: still inside the margin"
    assert a.ownership.lease_of(sessions[0]) is not None
    clock.advance(10)
    await a.tick()  # 20 s without a renewal: stop, 10 s before the lease expires
    assert a.running == set()
    assert a.ownership.lease_of(sessions[0]) is None, "no send is claimed for it any more"

    monkeypatch.undo()
    clock.advance(5)
    await a.tick()  # the database is back, the leases had not expired: run again
    assert a.running == set(sessions)


async def test_a_round_that_fails_on_a_bug_still_stops_the_sessions_before_the_lease_expires(
    db: Database, sessions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    a = Node(db, "a", clock)
    await a.tick()

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug in the heartbeat")

    monkeypatch.setattr(LeaseRepo, "heartbeat", broken)
    for _ in range(2):  # the rounds of the worker's loop, 10 s apart
        clock.advance(10)
        await a.ownership._round()
        await a.ownership.handed_over()
    assert a.running == set(), "20 s without a renewal: stopped, 10 s before the lease expires"
    assert a.ownership.lease_of(sessions[0]) is None


async def test_a_stalled_worker_finds_its_sessions_taken_and_stops_them(
    db: Database, sessions: list[int]
) -> None:
    clock = ManualClock()
    a, b = Node(db, "a", clock, capacity=4), Node(db, "b", clock, capacity=4)
    await a.tick()
    epochs = {s: lease.epoch for s in sessions if (lease := a.ownership.lease_of(s))}
    clock.advance(TTL_S + 1)  # a is stopped (SIGSTOP) past its leases and its heartbeat
    await b.tick()
    assert b.running == set(sessions)
    taken = await LeaseRepo(db).held("b", clock.now())
    assert all(lease.epoch == epochs[lease.session_id] + 1 for lease in taken)
    assert b.taken_from == [("a", sessions)], "told once, for all it took from a"
    await a.tick()  # a resumes: it holds nothing and stops everything
    assert a.running == set() and all(a.ownership.lease_of(s) is None for s in sessions)


async def test_a_browser_slow_to_close_holds_up_no_renewal_and_keeps_its_lease_till_closed(
    db: Database, sessions: list[int]
) -> None:
    clock = ManualClock()
    a, b = Node(db, "a", clock), Node(db, "b", clock)
    await a.tick()
    await b.tick()
    a.closing = asyncio.Event()
    clock.advance(10)
    await a.ownership.tick()  # returns while the two browsers it sheds are still closing
    assert a.ownership.lease_of(sessions[0]) is not None
    assert a.ownership.lease_of(sessions[3]) is None, "nothing more is sent for it"
    assert len(await LeaseRepo(db).held("a", clock.now())) == 4, "released once closed"
    await b.tick()
    assert b.running == set(), "the profiles are not free yet"
    a.closing.set()
    await a.ownership.handed_over()
    await b.tick()
    assert b.running == set(sessions[2:])
