"""Client scopes fail closed: "all clients" is stated, never inferred from an empty scope, and
what waits in the outbox for someone who loses access is cancelled with the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from storage.db import Database, LastOwner
from storage.records import ALL_CLIENTS, Alert, AlertRecipient, Content, NewAlert, Notice, Role
from storage.repos import ClientRepo, OperatorRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from storage.repos.alerts import AlertRepo
from storage.repos.outbox import OutboxRepo

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OWNER, ADMIN_HABY, OPERATOR_HABY = "tg:1", "slack:UA", "tg:3"


async def _world(db: Database) -> tuple[int, int]:
    clients = ClientRepo(db)
    haby = await clients.add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    marketing = await clients.add("marketing", "Marketing", "AR", "America/Argentina/Buenos_Aires")
    operators = OperatorRepo(db)
    await operators.add(OWNER, Role.OWNER)
    await operators.add(ADMIN_HABY, Role.ADMIN, ["haby"])
    await operators.add(OPERATOR_HABY, Role.OPERATOR, ["haby"])
    return haby.id, marketing.id


async def _delete_client(db: Database, slug: str) -> None:
    """As an operator running SQL would: the scope rows go with it (ON DELETE CASCADE)."""
    async with db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM clients WHERE slug = :s"), {"s": slug})


def _render(alert: Alert, notice: Notice, recipient: AlertRecipient) -> Sequence[Content]:
    return [Content(f"{alert.client_slug} {notice.value}")]


async def _statuses(db: Database, chat: str) -> list[str]:
    return [f"{d.content.text}:{d.status.value}" for d in await OutboxRepo(db).of_chat(chat)]


async def test_a_scoped_operator_whose_clients_are_deleted_sees_nothing(db: Database) -> None:
    _, marketing = await _world(db)
    operators, subscriptions = OperatorRepo(db), AlertSubscriptionRepo(db)
    operator = await operators.find(OPERATOR_HABY)
    assert operator is not None
    await subscriptions.subscribe(OPERATOR_HABY, None, operator_id=operator.id)  # "all mine"
    await _delete_client(db, "haby")

    for chat in (ADMIN_HABY, OPERATOR_HABY):
        scoped = await operators.find(chat)
        assert scoped is not None and scoped.client_slugs == ()
        assert not scoped.all_clients and not scoped.may_see("marketing"), chat
    owner = await operators.find(OWNER)
    assert owner is not None and owner.all_clients and owner.may_see("marketing")
    for client_id in (marketing, None):
        got = await subscriptions.recipients(client_id, "hot_lead", NOW)
        assert [r.chat_ref for r in got] == [OWNER], client_id


async def test_all_clients_is_stated_and_an_empty_scope_is_refused(db: Database) -> None:
    await _world(db)
    operators = OperatorRepo(db)
    assert (await operators.add("tg:7", Role.VIEWER, ALL_CLIENTS)).all_clients
    with pytest.raises(ValueError, match="at least one client"):
        await operators.add("tg:8", Role.VIEWER, [])
    narrowed = await operators.update("tg:7", client_slugs=["marketing"])
    assert (narrowed.all_clients, narrowed.client_slugs) == (False, ("marketing",))
    widened = await operators.update("tg:7", client_slugs=ALL_CLIENTS)
    assert (widened.all_clients, widened.client_slugs) == (True, ())
    with pytest.raises(ValueError, match="at least one client"):
        await operators.update("tg:7", client_slugs=())


async def test_removing_an_operator_cancels_their_queued_messages_in_the_same_transaction(
    db: Database,
) -> None:
    await _world(db)
    operators, outbox = OperatorRepo(db), OutboxRepo(db)
    subscriptions = AlertSubscriptionRepo(db)
    admin, operator = await operators.find(ADMIN_HABY), await operators.find(OPERATOR_HABY)
    assert admin is not None and operator is not None
    # A Slack DM by its channel id and a group both subscribed: chats of theirs too.
    await subscriptions.subscribe("slack:D42", None, operator_id=admin.id)
    await subscriptions.subscribe("tg:-100200", None, operator_id=admin.id)
    await subscriptions.subscribe("tg:-100200", None, "hot_lead", operator_id=operator.id)
    for chat in (OWNER, ADMIN_HABY, OPERATOR_HABY, "slack:D42", "tg:-100200"):
        await outbox.enqueue(chat, [Content("a"), Content("b")], NOW)

    await operators.remove(ADMIN_HABY)
    assert await _statuses(db, ADMIN_HABY) == ["a:cancelled", "b:cancelled"]
    assert await _statuses(db, "slack:D42") == ["a:cancelled", "b:cancelled"]
    assert await _statuses(db, "tg:-100200") == ["a:pending", "b:pending"], "tg:3 has it too"
    assert await _statuses(db, OPERATOR_HABY) == ["a:pending", "b:pending"]
    cancelled = (await outbox.of_chat(ADMIN_HABY))[0]
    assert cancelled.last_error is not None and "removed" in cancelled.last_error

    await operators.remove(OPERATOR_HABY)
    assert await _statuses(db, "tg:-100200") == ["a:cancelled", "b:cancelled"]
    with pytest.raises(LastOwner):
        await operators.remove(OWNER, keep_an_owner=True)
    assert await _statuses(db, OWNER) == ["a:pending", "b:pending"], "nothing without removal"
    assert [d.chat_ref for d in await outbox.heads()] == [OWNER]


async def test_losing_a_client_cancels_its_queued_alerts_only(db: Database) -> None:
    haby, marketing = await _world(db)
    operators = OperatorRepo(db)
    await operators.update(ADMIN_HABY, client_slugs=["haby", "marketing"])
    alerts = AlertRepo(db, needs_start=())
    for client_id, key in ((haby, "h"), (marketing, "m")):
        new = NewAlert(client_id, None, "hot_lead", key, "lead", one_shot=True)
        await alerts.fire(new, NOW, repeat_s=60, render=_render)
    await OutboxRepo(db).enqueue(ADMIN_HABY, [Content("digest")], NOW)

    await operators.update(ADMIN_HABY, client_slugs=["marketing"])
    assert await _statuses(db, ADMIN_HABY) == [
        "haby new:cancelled",
        "marketing new:pending",
        "digest:pending",
    ]
    assert await _statuses(db, OWNER) == ["haby new:pending", "marketing new:pending"]
