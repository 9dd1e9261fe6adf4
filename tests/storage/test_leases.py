"""Session leases (issue 17, storage/repos/leases.py): one owner per session, an even share per
live worker, the epoch growing with every change of owner, and a campaign claim fenced by it,
so a worker that stalled past its lease writes nothing when it wakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.records import (
    CampaignStatus,
    ContactInput,
    LeaseLost,
    RecipientState,
    WorkerInfo,
)
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, SessionRepo
from storage.repos.leases import LeaseRepo, hold_in

T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


async def _sessions(db: Database, count: int) -> list[int]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    return [(await SessionRepo(db).add(client.id, f"n{n}")).id for n in range(count)]


async def _beat(repo: LeaseRepo, worker: str, at: datetime, capacity: int = 10) -> None:
    await repo.heartbeat(WorkerInfo(worker, capacity, "test", T0, at))


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """Another worker's connection to the same database."""
    database = Database(db.url)
    yield database
    await database.shutdown()


async def test_live_workers_split_the_sessions_and_capacity_caps_a_share(db: Database) -> None:
    ids = await _sessions(db, 5)
    repo = LeaseRepo(db)
    await _beat(repo, "a", T0)
    await _beat(repo, "b", T0)
    a = await repo.claim("a", capacity=10, ttl=TTL, now=T0)
    assert [lease.session_id for lease in a] == ids[:3], "an even split: 5 over 2 is 3"
    assert all(lease.epoch == 1 and lease.expires_at == T0 + TTL for lease in a)
    b = await repo.claim("b", capacity=1, ttl=TTL, now=T0)
    assert [lease.session_id for lease in b] == [ids[3]], "its capacity is 1"
    assert await repo.claim("a", capacity=10, ttl=TTL, now=T0) == [], "a has its share"
    await _beat(repo, "b", T0 - 2 * TTL)  # b stopped beating: a's share is everything
    more = await repo.claim("a", capacity=10, ttl=TTL, now=T0)
    assert [lease.session_id for lease in more] == [ids[4]], "b's own lease is still valid"


async def test_an_expired_lease_moves_with_a_new_epoch_and_fences_the_old_owner(
    db: Database,
) -> None:
    [session_id] = await _sessions(db, 1)
    repo = LeaseRepo(db)
    [first] = await repo.claim("a", capacity=5, ttl=TTL, now=T0)
    later = T0 + timedelta(seconds=10)
    assert await repo.claim("b", capacity=5, ttl=TTL, now=later) == [], "a holds it"
    [renewed] = await repo.renew("a", ttl=TTL, now=later)
    assert renewed.epoch == first.epoch and renewed.expires_at == later + TTL

    stalled = later + TTL + timedelta(seconds=1)  # a stopped renewing (SIGSTOP, a partition)
    [taken] = await repo.claim("b", capacity=5, ttl=TTL, now=stalled)
    assert taken.session_id == session_id and taken.epoch == first.epoch + 1
    assert await repo.renew("a", ttl=TTL, now=stalled) == [], "a wakes up: it holds nothing"
    assert [lease.owner for lease in await repo.held("b", stalled)] == ["b"]


async def test_released_leases_are_claimed_at_once(db: Database) -> None:
    ids = await _sessions(db, 2)
    repo = LeaseRepo(db)
    await repo.claim("a", capacity=5, ttl=TTL, now=T0)
    await repo.release("a", [ids[0]])
    assert [lease.session_id for lease in await repo.held("a", T0)] == [ids[1]]
    [taken] = await repo.claim("b", capacity=1, ttl=TTL, now=T0)
    assert taken.session_id == ids[0] and taken.epoch == 2
    await repo.release("a")
    assert await repo.held("a", T0) == []


async def test_two_workers_claiming_at_once_never_share_a_session(
    db: Database, other: Database
) -> None:
    await _sessions(db, 8)
    mine, theirs = LeaseRepo(db), LeaseRepo(other)
    for _ in range(3):
        a, b = await asyncio.gather(
            mine.claim("a", capacity=8, ttl=TTL, now=T0),
            theirs.claim("b", capacity=8, ttl=TTL, now=T0),
        )
        owned_a = {lease.session_id for lease in await mine.held("a", T0)}
        owned_b = {lease.session_id for lease in await mine.held("b", T0)}
        assert not owned_a & owned_b
        assert {lease.session_id for lease in a} <= owned_a
        assert {lease.session_id for lease in b} <= owned_b
    assert len(owned_a | owned_b) == 8, "between them, every session is owned"


async def test_a_campaign_claim_under_a_lost_lease_marks_nobody_sending(db: Database) -> None:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    await ContactRepo(db).upsert_many(client.id, [ContactInput("5491100000001", "Ana")])
    campaigns = CampaignRepo(db)
    campaign = await campaigns.create(client.id, session.id, "c", "Hola", {"all": True})
    await campaigns.materialize(campaign)
    await campaigns.set_status(campaign.id, CampaignStatus.RUNNING)
    head = await campaigns.next_queued(campaign.id)
    assert head is not None

    leases = LeaseRepo(db)
    now = datetime.now(UTC)  # the claim checks the lease against the clock of now
    [stale] = await leases.claim("a", capacity=1, ttl=timedelta(seconds=-1), now=now)
    with pytest.raises(LeaseLost, match="another worker took it over"):
        await campaigns.claim(
            campaign.id, head.id, lambda r: "Hola", wa_id="5491100000001@c.us", fence=stale
        )
    assert (await campaigns.counts(campaign.id))[RecipientState.QUEUED.value] == 1

    [held] = await leases.claim("b", capacity=1, ttl=timedelta(minutes=5), now=now)
    claimed = await campaigns.claim(
        campaign.id, head.id, lambda r: "Hola", wa_id="5491100000001@c.us", fence=held
    )
    assert claimed.recipient is not None and claimed.recipient.state is RecipientState.SENDING


async def _stopped_inside_a_claim(db: Database, lease_owner: str, session_id: int) -> Any:
    """A transaction of `db` left open with the lease row share-locked, as a worker stopped
    (SIGSTOP) inside a campaign claim leaves it: `hold_in` ran, the commit never came."""
    [lease] = [
        held for held in await LeaseRepo(db).held(lease_owner, T0) if held.session_id == session_id
    ]
    session = db._sessions()
    await session.begin()
    await hold_in(session, lease, T0)
    return session


async def test_a_worker_stopped_inside_a_claim_holds_up_no_other_workers_renewal(
    db: Database, other: Database
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("row locks are MariaDB's: SQLite's open read takes none")
    ids = await _sessions(db, 2)
    repo_a, repo_b = LeaseRepo(db), LeaseRepo(other)
    await _beat(repo_a, "a", T0)
    await _beat(repo_b, "b", T0)
    await repo_a.claim("a", capacity=1, ttl=TTL, now=T0)
    await repo_b.claim("b", capacity=1, ttl=TTL, now=T0)
    stopped = await _stopped_inside_a_claim(db, "a", ids[0])
    try:
        async with asyncio.timeout(5):  # InnoDB would wait 50 s on a's row (lock wait)
            renewed = await repo_b.renew("b", ttl=TTL, now=T0 + timedelta(seconds=10))
            await repo_b.release("b")
        assert [lease.session_id for lease in renewed] == [ids[1]]
    finally:
        await stopped.close()


async def test_the_server_ends_the_idle_transaction_of_a_stopped_worker(
    db: Database, other: Database
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("idle_transaction_timeout is MariaDB's")
    ids = await _sessions(db, 1)
    limited = Database(db.url, idle_transaction_timeout_s=1)
    try:
        await _beat(LeaseRepo(limited), "a", T0)
        await LeaseRepo(limited).claim("a", capacity=1, ttl=TTL, now=T0)
        stopped = await _stopped_inside_a_claim(limited, "a", ids[0])
        repo_b = LeaseRepo(other)
        await _beat(repo_b, "b", T0 + TTL)
        later = T0 + TTL + timedelta(seconds=1)  # a's lease expired
        assert await repo_b.claim("b", capacity=1, ttl=TTL, now=later) == [], "still locked"
        await asyncio.sleep(2.5)  # a stays stopped past the limit: the server rolls it back
        [taken] = await repo_b.claim("b", capacity=1, ttl=TTL, now=later)
        assert (taken.session_id, taken.epoch, taken.taken_from) == (ids[0], 2, "a")
        with pytest.raises(OperationalError, match="Lost connection"):  # a wakes: rolled back
            await stopped.commit()
        await stopped.close()
    finally:
        await limited.shutdown()
