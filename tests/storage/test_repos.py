"""Repositories on SQLite and MariaDB: records in, records out, unique keys enforced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import AlreadyExists, Database, LastOwner, NotFound
from storage.records import (
    AuditResult,
    Client,
    ContactInput,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
    Role,
    SessionState,
    UpsertCounts,
)
from storage.repos import (
    AISettingsRepo,
    AuditRepo,
    ClientRepo,
    ContactRepo,
    MessageRepo,
    OperatorRepo,
    SessionRepo,
)

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def _client(db: Database, slug: str = "haby") -> Client:
    return await ClientRepo(db).add(slug, slug.title(), "AR", "America/Argentina/Buenos_Aires")


async def test_clients_are_unique_by_slug(db: Database) -> None:
    repo = ClientRepo(db)
    haby = await _client(db)
    assert (await repo.get("haby")) == haby
    assert haby.created_at.tzinfo is not None
    with pytest.raises(AlreadyExists, match="haby"):
        await _client(db)
    with pytest.raises(NotFound, match="nope"):
        await repo.get("nope")
    await _client(db, "marketing")
    assert [c.slug for c in await repo.list()] == ["haby", "marketing"]


async def test_session_state_changes_are_persisted(db: Database) -> None:
    client = await _client(db)
    repo = SessionRepo(db)
    created = await repo.add(client.id, "main")
    assert created.state is SessionState.STOPPED and created.key == "haby-main"
    with pytest.raises(AlreadyExists):
        await repo.add(client.id, "main")
    changed = await repo.set_state(created.id, SessionState.CONNECTED, at=T0)
    assert changed.state is SessionState.CONNECTED and changed.state_changed_at == T0
    same = await repo.set_state(
        created.id, SessionState.CONNECTED, "again", at=T0 + timedelta(hours=1)
    )
    assert same.state_changed_at == T0, "a repeated state keeps its 'since'"
    await repo.set_phone(created.id, "5491112345678", "5491112345678@c.us")
    fetched = await repo.get("haby", "main")
    assert fetched.phone == "5491112345678" and fetched.state_reason == "again"
    assert [s.key for s in await repo.list(enabled_only=True)] == ["haby-main"]
    await repo.set_enabled(created.id, False)
    assert await repo.list(enabled_only=True) == []
    await repo.remove(created.id)
    with pytest.raises(NotFound):
        await repo.get("haby", "main")


async def test_operators_with_roles_and_client_scope(db: Database) -> None:
    await _client(db)
    await _client(db, "marketing")
    repo = OperatorRepo(db)
    owner = await repo.add("tg:1", Role.OWNER)
    assert owner.client_slugs == () and owner.may_see("haby")
    scoped = await repo.add("slack:U1", Role.OPERATOR, ["marketing"], language="en")
    assert scoped.client_slugs == ("marketing",) and not scoped.may_see("haby")
    with pytest.raises(AlreadyExists):
        await repo.add("tg:1", Role.VIEWER)
    with pytest.raises(NotFound, match="ghost"):
        await repo.add("tg:2", Role.VIEWER, ["ghost"])
    assert await repo.find("tg:2") is None
    updated = await repo.update("slack:U1", role=Role.ADMIN, client_slugs=["haby", "marketing"])
    assert updated.role is Role.ADMIN and updated.client_slugs == ("haby", "marketing")
    await repo.remove("slack:U1")
    assert [o.platform_id for o in await repo.list()] == ["tg:1"]


async def test_contact_upsert_merges_and_is_idempotent(db: Database) -> None:
    client = await _client(db)
    repo = ContactRepo(db)
    items = [
        ContactInput("5491112345678", "Ana", ("feria",), {"city": "Rosario"}),
        ContactInput("5491187654321", None, (), {}),
    ]
    assert await repo.upsert_many(client.id, items) == UpsertCounts(added=2)
    assert await repo.upsert_many(client.id, items) == UpsertCounts(unchanged=2)
    changed = [ContactInput("5491112345678", "Ana María", ("vip",), {"plan": "pro"})]
    assert await repo.upsert_many(client.id, changed) == UpsertCounts(updated=1)
    ana = await repo.get(client.id, "5491112345678")
    assert ana.name == "Ana María"
    assert ana.tags == ("feria", "vip")
    assert ana.fields == {"city": "Rosario", "plan": "pro"}
    assert await repo.count(client.id) == 2
    assert await repo.count_by_tag(client.id) == {"feria": 1, "vip": 1}
    other = await _client(db, "marketing")
    assert await repo.upsert_many(other.id, items[:1]) == UpsertCounts(added=1), (
        "contacts are per client"
    )


async def test_ensure_contact_and_opt_out(db: Database) -> None:
    client = await _client(db)
    repo = ContactRepo(db)
    first = await repo.ensure(client.id, "5491112345678", name="Ana")
    again = await repo.ensure(client.id, "5491112345678", wa_id="5491112345678@c.us")
    assert again.id == first.id and again.name == "Ana" and again.wa_id == "5491112345678@c.us"
    await repo.set_opted_out(first.id, T0)
    assert (await repo.get(client.id, "5491112345678")).opted_out_at == T0


async def test_messages_are_stored_once_per_session_and_listed_newest_first(db: Database) -> None:
    client = await _client(db)
    session = await SessionRepo(db).add(client.id, "main")
    contact = await ContactRepo(db).ensure(client.id, "5491112345678", name="Ana")
    messages = MessageRepo(db)

    def inbound(wa_id: str, body: str, minutes: int, contact_id: int = contact.id) -> NewMessage:
        return NewMessage(
            client.id,
            contact_id,
            Direction.IN,
            Origin.CONTACT,
            body,
            T0 + timedelta(minutes=minutes),
            session_id=session.id,
            wa_message_id=wa_id,
        )

    assert await messages.add(inbound("A1", "hola", 0)) is not None
    assert await messages.add(inbound("A1", "hola", 0)) is None, "a redelivered id is ignored"
    reply = await messages.add(
        NewMessage(
            client.id,
            contact.id,
            Direction.OUT,
            Origin.AI,
            "¡Hola Ana!",
            T0 + timedelta(minutes=1),
            session_id=session.id,
            wa_message_id="B1",
            status=MessageStatus.SENT,
        )
    )
    assert reply is not None
    await messages.add(inbound("A2", "precio?", 2))
    assert [m.body for m in await messages.conversation(contact.id)] == [
        "precio?",
        "¡Hola Ana!",
        "hola",
    ]
    assert [m.body for m in await messages.conversation(contact.id, limit=1)] == ["precio?"]

    assert await messages.advance_status(session.id, "B1", MessageStatus.READ)
    assert not await messages.advance_status(session.id, "B1", MessageStatus.DELIVERED), (
        "never back"
    )
    assert (await messages.conversation(contact.id))[1].status is MessageStatus.READ

    bob = await ContactRepo(db).ensure(client.id, "5491187654321")
    await messages.add(inbound("C1", "buenas", 5, bob.id))
    recent = await messages.recent_conversations(client.id)
    assert [(c.phone, c.last_body, c.messages) for c in recent] == [
        ("5491187654321", "buenas", 1),
        ("5491112345678", "precio?", 3),
    ]
    await ContactRepo(db).forget(client.id, "5491112345678")
    assert await messages.conversation(contact.id) == []


async def test_ai_settings_default_off_and_update(db: Database) -> None:
    client = await _client(db)
    repo = AISettingsRepo(db)
    settings = await repo.get(client.id)
    assert not settings.enabled and settings.history_window == 10
    updated = await repo.update(
        client.id, enabled=True, system_prompt="Sos Haby", opt_out_keywords=["BAJA"]
    )
    assert (
        updated.enabled
        and updated.system_prompt == "Sos Haby"
        and updated.opt_out_keywords == ("BAJA",)
    )
    assert await repo.get(client.id) == updated
    with pytest.raises(ValueError, match="colour"):
        await repo.update(client.id, colour="red")


async def test_audit_log_newest_first(db: Database) -> None:
    repo = AuditRepo(db)
    await repo.record("tg:1", "telegram", "pause", "7", AuditResult.OK, client_slug="haby")
    await repo.record("tg:2", "telegram", "launch", "7", AuditResult.DENIED, detail="viewer")
    entries = await repo.recent(10)
    assert [(e.actor, e.command, e.result) for e in entries] == [
        ("tg:2", "launch", AuditResult.DENIED),
        ("tg:1", "pause", AuditResult.OK),
    ]
    assert [e.actor for e in await repo.recent(10, actor="tg:1")] == ["tg:1"]


async def test_the_last_owner_stays_an_owner(db: Database) -> None:
    repo = OperatorRepo(db)
    await repo.add("tg:1", Role.OWNER)
    await repo.add("tg:2", Role.OWNER)
    await repo.update("tg:2", role=Role.ADMIN, keep_an_owner=True)
    with pytest.raises(LastOwner):
        await repo.update("tg:1", role=Role.ADMIN, keep_an_owner=True)
    with pytest.raises(LastOwner):
        await repo.remove("tg:1", keep_an_owner=True)
    await repo.remove("tg:2", keep_an_owner=True)  # not an owner any more
    assert [o.platform_id for o in await repo.list()] == ["tg:1"]
