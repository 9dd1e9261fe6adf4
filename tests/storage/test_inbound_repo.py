"""The inbound path's writes: messages stored at the same moment go in one transaction, each
keeps its own outcome (stored, seen before, its plan's error), contacts come out as
`ContactRepo.resolve` makes them, a deadlock MariaDB broke is run again at once, and a unique
key taken meanwhile costs no message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

import storage.repos.inbound as inbound_module
from storage.config import ConfigSnapshot
from storage.db import Database, StorageUnavailable
from storage.records import (
    AICall,
    Client,
    ContactInput,
    Direction,
    NewMessage,
    Origin,
    WaIdentity,
)
from storage.repos import AICallRepo, ClientRepo, ContactRepo, InboundRepo, MessageRepo, SessionRepo
from storage.repos.contacts import Wanted
from storage.repos.inbound import SEEN_BEFORE, InboundStored, InboundWrite, Plan

AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _unavailable(code: int) -> StorageUnavailable:
    """What `Database.session()` raises for a driver error with this MySQL code."""
    orig = Exception(code, "Deadlock found when trying to get lock; try restarting transaction")
    try:
        raise StorageUnavailable("database unavailable") from OperationalError("x", {}, orig)
    except StorageUnavailable as exc:
        return exc


class World:
    def __init__(self, db: Database, client: Client, session_id: int) -> None:
        self.db, self.client, self.session_id = db, client, session_id

    def plan(
        self,
        phone: str,
        wa_id: str,
        *,
        lid: str | None = None,
        name: str | None = None,
        at: datetime = AT,
        tokens_since: datetime | None = None,
    ) -> Plan:
        def plan(config: ConfigSnapshot) -> InboundWrite:
            assert config.client(self.client.id) is not None
            return InboundWrite(
                Wanted(self.client.id, WaIdentity(phone=phone, lid=lid), name),
                NewMessage(
                    self.client.id,
                    0,
                    Direction.IN,
                    Origin.CONTACT,
                    f"hola de {phone}",
                    at,
                    session_id=self.session_id,
                    wa_message_id=f"false_{phone}@c.us_{wa_id}",
                ),
                tokens_since=tokens_since,
            )

        return plan


@pytest.fixture
async def world(db: Database) -> World:
    client = await ClientRepo(db).add("haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    return World(db, client, session.id)


def _count_transactions(db: Database) -> list[int]:
    begun = [0]

    def on_begin(_connection: Any) -> None:
        begun[0] += 1

    event.listen(db.engine.sync_engine, "begin", on_begin)
    return begun


def test_only_error_1213_is_a_deadlock() -> None:
    assert _unavailable(1213).deadlock
    assert not _unavailable(1205).deadlock, "a lock wait timeout is not retried at once"
    assert not StorageUnavailable("the disk is gone").deadlock


async def test_messages_stored_at_once_share_one_transaction(world: World) -> None:
    repo = InboundRepo(world.db)
    await ContactRepo(world.db).upsert_many(
        world.client.id, [ContactInput(phone="5491100000003", name="Ana", tags=("vip",))]
    )
    begun = _count_transactions(world.db)
    phones = [f"54911000000{n:02d}" for n in range(20)]
    outcomes = await asyncio.gather(*(repo.store(world.plan(p, f"M{p}")) for p in phones))
    # The first finds nobody writing and goes alone; the other 19 queued meanwhile, together.
    assert repo.batches == 2 and begun[0] == 2
    stored = [o for o in outcomes if isinstance(o, InboundStored)]
    assert len(stored) == 20 and len({o.contact.id for o in stored}) == 20
    assert [o.contact.phone for o in stored] == phones, "each caller gets its own message"
    known = stored[3].contact
    assert known.name == "Ana" and known.tags == ("vip",), "a known contact, tags and all"
    contacts = ContactRepo(world.db)
    for o in stored:
        assert (
            o.message.contact_id == o.contact.id and o.message.body == f"hola de {o.contact.phone}"
        )
        assert (await MessageRepo(world.db).conversation(o.contact.id))[0].id == o.message.id
    recent = await MessageRepo(world.db).recent_conversations(world.client.id, limit=50)
    assert len(recent) == 20, "every contact's last message moved forward"
    assert (await contacts.get(world.client.id, phones[0])).phone == phones[0]


async def test_each_message_keeps_its_own_outcome(world: World) -> None:
    repo = InboundRepo(world.db)
    await repo.store(world.plan("5491100000001", "OLD"))

    def broken(_config: ConfigSnapshot) -> InboundWrite:
        raise LookupError("this message's client is gone")

    def ignored(_config: ConfigSnapshot) -> str:
        return "ignored (groups are off)"

    first = asyncio.ensure_future(repo.store(world.plan("5491100000009", "FIRST")))
    await asyncio.sleep(0)  # the first goes alone; the rest queue behind it
    rest = await asyncio.gather(
        repo.store(world.plan("5491100000001", "OLD")),  # stored by an earlier batch
        repo.store(broken),
        repo.store(ignored),
        repo.store(world.plan("5491100000002", "TWICE")),
        repo.store(world.plan("5491100000002", "TWICE")),  # the same id twice in one batch
        return_exceptions=True,
    )
    assert isinstance(await first, InboundStored)
    assert rest[0] == SEEN_BEFORE
    assert isinstance(rest[1], LookupError)
    assert rest[2] == "ignored (groups are off)"
    assert isinstance(rest[3], InboundStored) and rest[4] == SEEN_BEFORE
    assert repo.batches == 3
    contact = await ContactRepo(world.db).get(world.client.id, "5491100000002")
    assert len(await MessageRepo(world.db).conversation(contact.id)) == 1


async def test_one_person_twice_in_a_batch_is_one_contact(world: World) -> None:
    repo = InboundRepo(world.db)
    await repo.store(world.plan("5491100000009", "FIRST"))
    first = asyncio.ensure_future(repo.store(world.plan("5491100000008", "ALONE")))
    await asyncio.sleep(0)
    later = AT + timedelta(seconds=5)
    a, b, c = await asyncio.gather(
        repo.store(world.plan("5491100000001", "A", name="Bea")),
        repo.store(world.plan("5491100000001", "B", lid="777@lid", at=later)),
        repo.store(world.plan("5491100000009", "C", name="Ceci")),  # known, first name
    )
    await first
    assert isinstance(a, InboundStored) and isinstance(b, InboundStored)
    assert a.contact.id == b.contact.id and b.contact.lid == "777@lid" and b.contact.name == "Bea"
    assert isinstance(c, InboundStored) and c.contact.name == "Ceci"
    contacts = ContactRepo(world.db)
    assert (await contacts.get_by_lid(world.client.id, "777@lid")).id == a.contact.id
    chats = await MessageRepo(world.db).recent_conversations(world.client.id, limit=10)
    newest = next(chat for chat in chats if chat.contact_id == a.contact.id)
    assert newest.last_at == later and newest.messages == 2, "the later of the two is last"


async def test_a_unique_key_taken_meanwhile_costs_no_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our own reply's echo stored by its sender between the batch's check and its insert: the
    batch fails on the unique index, each message is stored alone, the echo is seen before."""
    repo = InboundRepo(world.db)
    await repo.store(world.plan("5491100000001", "ECHO"))
    real = inbound_module.stored_keys
    blind = [True]

    async def blind_once(session: Any, news: Any) -> set[Any]:
        if blind[0] and len(news) > 1:
            blind[0] = False
            return set()
        return await real(session, news)

    monkeypatch.setattr(inbound_module, "stored_keys", blind_once)
    first = asyncio.ensure_future(repo.store(world.plan("5491100000005", "ALONE")))
    await asyncio.sleep(0)
    outcomes = await asyncio.gather(
        repo.store(world.plan("5491100000001", "ECHO")),
        repo.store(world.plan("5491100000002", "NEW2")),
        repo.store(world.plan("5491100000003", "NEW3")),
    )
    assert isinstance(await first, InboundStored)
    assert not blind[0], "the batch of three was checked blind"
    assert outcomes[0] == SEEN_BEFORE, outcomes
    assert all(isinstance(o, InboundStored) for o in outcomes[1:]), outcomes


async def test_a_deadlock_victim_runs_again_and_gives_up_after_a_few(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = inbound_module.stored_keys
    calls = [0]
    failing = [2]

    async def deadlocking(session: Any, news: Any) -> set[Any]:
        calls[0] += 1
        if failing[0] > 0:
            failing[0] -= 1
            raise _unavailable(1213)
        return await real(session, news)

    monkeypatch.setattr(inbound_module, "stored_keys", deadlocking)
    repo = InboundRepo(world.db)
    assert isinstance(await repo.store(world.plan("5491100000001", "A")), InboundStored)
    assert calls[0] == 3

    failing[0] = 100
    with pytest.raises(StorageUnavailable):
        await repo.store(world.plan("5491100000002", "B"))

    async def outage(session: Any, news: Any) -> set[Any]:
        calls[0] += 1
        raise _unavailable(2013)  # lost connection: the listener's own backoff handles it

    monkeypatch.setattr(inbound_module, "stored_keys", outage)
    calls[0] = 0
    with pytest.raises(StorageUnavailable):
        await repo.store(world.plan("5491100000003", "C"))
    assert calls[0] == 1


async def test_the_batch_reads_what_each_client_spent_since_its_day_began(world: World) -> None:
    calls = AICallRepo(world.db)
    for at, tokens in ((AT - timedelta(hours=13), 500), (AT - timedelta(hours=1), 70)):
        await calls.record(AICall(world.client.id, None, at, "reply", "m", True, tokens, None))
    repo = InboundRepo(world.db)
    day = AT - timedelta(hours=12)
    asked = await repo.store(world.plan("5491100000001", "A", tokens_since=day))
    not_asked = await repo.store(world.plan("5491100000002", "B"))
    assert isinstance(asked, InboundStored) and asked.tokens_today == 70, "only today's"
    assert isinstance(not_asked, InboundStored) and not_asked.tokens_today is None


async def test_a_message_the_batch_cannot_write_costs_no_other(world: World) -> None:
    repo = InboundRepo(world.db)
    good = world.plan("5491100000002", "GOOD")

    def nobody(config: ConfigSnapshot) -> InboundWrite:
        planned = world.plan("5491100000003", "BAD")(config)
        assert isinstance(planned, InboundWrite)
        return InboundWrite(Wanted(world.client.id, WaIdentity()), planned.message)

    first = asyncio.ensure_future(repo.store(world.plan("5491100000001", "ALONE")))
    await asyncio.sleep(0)
    bad, stored = await asyncio.gather(repo.store(nobody), repo.store(good), return_exceptions=True)
    assert isinstance(await first, InboundStored)
    assert isinstance(bad, ValueError) and "needs a phone or a lid" in str(bad)
    assert isinstance(stored, InboundStored) and stored.contact.phone == "5491100000002"
