"""Engine events across processes (issue 17, engine/relay.py and storage/repos/event_log.py):
what a worker's bus publishes reaches another process's bus, equal and in order, through the
event log; a follower resumes from its cursor; ids not yet committed are waited for."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

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
    SessionRef,
    SessionStateChanged,
    WorkerLost,
)
from engine.relay import RELAYED, EventCodec, EventFollower, EventPublisher
from storage.db import Database
from storage.models import EngineEventRow
from storage.records import (
    CampaignStatus,
    ContactInput,
    Direction,
    MediaInfo,
    MediaState,
    NewMessage,
    Origin,
    SessionState,
)
from storage.repos import CampaignRepo, ClientRepo, MessageRepo, SessionRepo
from storage.repos.contacts import ContactRepo
from storage.repos.event_log import EventLogRepo
from tests.support.poll import poll_until

T0 = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


async def _samples(db: Database) -> list[object]:
    """One event of every relayed type, with real records from the repositories."""
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    campaign = await CampaignRepo(db).create(client.id, session.id, "c", "Hola", {"all": True})
    contacts = ContactRepo(db)
    await contacts.upsert_many(client.id, [ContactInput("5491155550000", "Ana")])
    contact = await contacts.get(client.id, "5491155550000")
    media = MediaInfo(
        "image", "image/jpeg", 12, filename="a.jpg", sha256="ab" * 32, state=MediaState.STORED
    )
    message = await MessageRepo(db).add(
        NewMessage(
            client.id,
            contact.id,
            Direction.IN,
            Origin.CONTACT,
            "hola ñandú",
            T0,
            session_id=session.id,
            wa_message_id="false_1@c.us_A",
            type="image",
            media=media,
        )
    )
    assert message is not None
    ref = SessionRef(session.id, client.id, "haby", "main")
    return [
        SessionStateChanged(ref, SessionState.RECONNECTING, SessionState.CONNECTED, None, T0),
        QrUpdated(ref, "2@abc,def", 2, 5),
        QrExpired(ref),
        PairingCodeIssued(ref, "5491155550000", "ABCD-EFGH", 2),
        PairingCodeExpired(ref, "5491155550000"),
        PairingCodeFailed(ref, "5491155550000", "refused"),
        InboundSpoolFailed("/data/inbound.spool", "disk full"),
        HandoffRequested(ref, contact.id, None, "una persona", lid="123@lid"),
        HotLeadDetected(ref, contact.id, "5491155550000", "precio?"),
        AIFailed(ref, contact.id, None, "timeout", None, True, lid="9@lid"),
        MessageStored(ref, message),
        MessageSent(client.id, session.id, Origin.CAMPAIGN, True),
        CampaignProgress(campaign, {"sent": 3, "skipped:opted_out": 1}, 4, T0),
        CampaignStatusChanged(campaign, CampaignStatus.DRAFT, "launched"),
        CampaignRecovered(campaign, 2),
        NumberWorkerFailed(session.id, None, "database away", 3, 10.0),
        WorkerLost("worker-a", "worker-b", ("haby/main", "haby/ventas")),
    ]


async def test_every_relayed_event_comes_back_equal(db: Database) -> None:
    samples = await _samples(db)
    assert {type(event) for event in samples} == set(RELAYED)
    codec = EventCodec()
    for event in samples:
        kind, payload = codec.encode(event)
        back = codec.decode(kind, payload)
        assert back == event, kind
        for field in fields(back):  # type: ignore[arg-type]
            assert type(getattr(back, field.name)) is type(getattr(event, field.name))


def test_an_event_not_relayed_or_unknown_is_refused_clearly() -> None:
    codec = EventCodec()
    with pytest.raises(TypeError, match="not relayed"):
        codec.encode(object())
    with pytest.raises(TypeError, match="same waops version"):
        codec.decode("Nope", "{}")


async def test_a_followers_bus_hears_what_a_workers_bus_published_in_order(db: Database) -> None:
    samples = await _samples(db)
    worker_bus, bot_bus = EventBus(), EventBus()
    heard: list[object] = []

    async def hear(event: object) -> None:
        heard.append(event)

    for event_type in RELAYED:
        bot_bus.subscribe(event_type, hear)
    kept: list[int] = []

    async def keep(cursor: int) -> None:
        kept.append(cursor)

    other = Database(db.url)
    publisher = EventPublisher(db, worker_bus, "w1", flush_every_s=0.02)
    follower = EventFollower(other, bot_bus, poll_every_s=0.02, on_advance=keep)
    try:
        await publisher.start()
        await follower.start()
        for event in samples:
            await worker_bus.publish(event)
        await poll_until(lambda: len(heard) == len(samples), "every event heard", 10)
        assert heard == samples
        assert kept[-1] == follower.cursor
        await publisher.stop()
        await follower.stop()

        # A follower resumes where the last one stopped: only what came later.
        await worker_bus.publish(samples[0])  # not heard: the publisher stopped
        late = EventPublisher(db, worker_bus, "w2")
        await late.start()
        await worker_bus.publish(samples[1])
        await late.stop()
        heard.clear()
        resumed = EventFollower(other, bot_bus, poll_every_s=0.02, cursor=kept[-1])
        await resumed.start()
        await poll_until(lambda: len(heard) == 1, "the later event heard", 10)
        await resumed.stop()
        assert heard == [samples[1]]
    finally:
        await publisher.stop()
        await follower.stop()
        await other.shutdown()


async def test_a_follower_new_to_the_log_starts_from_its_newest_event(db: Database) -> None:
    log = EventLogRepo(db)
    await log.append("w1", [("QrExpired", "{}")], T0)
    follower = EventFollower(db, EventBus())
    await follower.start()
    await follower.stop()
    assert follower.cursor == await log.last_id() > 0


async def test_an_id_not_committed_yet_holds_the_later_ones_until_it_settles(
    db: Database,
) -> None:
    log = EventLogRepo(db)
    await log.append("w1", [("A", "1"), ("B", "2"), ("C", "3")], T0)
    ids = [event.id for event in await log.after(0, T0)]
    # The middle id stands for an insert whose transaction is still open.
    async with db.session() as session:
        await session.execute(delete(EngineEventRow).where(EngineEventRow.id == ids[1]))
    start = ids[0] - 1
    settle = timedelta(seconds=2)
    assert [e.id for e in await log.after(start, T0 + timedelta(seconds=1), settle=settle)] == [
        ids[0]
    ]
    # Past the settling time a gap is taken as an id that never commits (a rollback).
    later = await log.after(start, T0 + timedelta(seconds=3), settle=settle)
    assert [e.id for e in later] == [ids[0], ids[2]]


async def test_old_events_are_pruned(db: Database) -> None:
    log = EventLogRepo(db)
    await log.append("w1", [("A", "1")], T0)
    await log.append("w1", [("B", "2")], T0 + timedelta(days=2))
    assert await log.prune(T0 + timedelta(days=1)) == 1
    assert [e.kind for e in await log.after(0, T0 + timedelta(days=3))] == ["B"]


async def test_a_bug_in_reading_the_log_leaves_the_follower_following(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = EventLogRepo(db)
    bot_bus = EventBus()
    heard: list[object] = []

    async def hear(event: object) -> None:
        heard.append(event)

    bot_bus.subscribe(QrExpired, hear)
    after = EventLogRepo.after
    failures: list[str] = []

    async def fails_once(self: EventLogRepo, *args: object, **kwargs: object) -> object:
        if not failures:
            failures.append("a bug")
            raise RuntimeError("a bug in after")
        return await after(self, *args, **kwargs)  # type: ignore[arg-type]

    follower = EventFollower(db, bot_bus, poll_every_s=0.02, settle=timedelta(0))
    await follower.start()
    monkeypatch.setattr(EventLogRepo, "after", fails_once)
    try:
        event = EventCodec().encode(QrExpired(SessionRef(1, 1, "haby", "main")))
        await log.append("w1", [event], datetime.now(UTC))
        await poll_until(lambda: len(heard) == 1, "the event heard after the failed read", 5)
        assert failures == ["a bug"]
    finally:
        await follower.stop()
