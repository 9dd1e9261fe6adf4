"""Alert storage: subscriptions and mutes, raise/bump/repeat/resolve, the outbox order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.records import Alert, AlertRecipient, AlertState, Content, NewAlert, Notice, Role
from storage.repos import ClientRepo, OperatorRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from storage.repos.alerts import AlertRepo
from storage.repos.outbox import OutboxRepo, decode_content, encode_content

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def render(alert: Alert, notice: Notice, recipient: AlertRecipient) -> Sequence[Content]:
    return [Content(f"{notice.value} {alert.kind} x{alert.occurrences} {recipient.language}")]


async def _setup(db: Database) -> tuple[int, int]:
    clients = ClientRepo(db)
    haby = await clients.add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    other = await clients.add("other", "Other", "AR", "America/Argentina/Buenos_Aires")
    operators = OperatorRepo(db)
    await operators.add("tg:1", Role.OWNER, language="es")
    await operators.add("slack:U2", Role.ADMIN, ["other"])
    await operators.add("tg:3", Role.OPERATOR, ["haby"], language="en")
    return haby.id, other.id


def test_contents_survive_the_text_column() -> None:
    full = Content("hola\x1eque tal", (("Pair", "/pair haby main"),), b"\x89PNG", "a.txt", b"xyz")
    assert decode_content(encode_content(full)) == Content(
        "hola que tal", (("Pair", "/pair haby main"),), b"\x89PNG", "a.txt", b"xyz"
    )
    assert encode_content(Content("plain")) == "plain"


async def test_recipients_follow_roles_scopes_subscriptions_mutes_and_start(db: Database) -> None:
    haby, other = await _setup(db)
    subs = AlertSubscriptionRepo(db)
    operator = await OperatorRepo(db).find("tg:3")
    assert operator is not None

    async def chats(client_id: int, kind: str = "hot_lead") -> list[str]:
        return [r.chat_ref for r in await subs.recipients(client_id, kind, NOW, ("tg",))]

    assert await chats(haby) == [], "tg:1 never said /start"
    await subs.set_reachable("tg:1")
    await subs.set_reachable("tg:1")
    await subs.set_reachable("tg:3")
    assert await chats(haby) == ["tg:1"]
    assert await chats(other) == ["slack:U2", "tg:1"]
    await subs.subscribe("tg:3", haby, "hot_lead", operator_id=operator.id)
    await subs.subscribe("tg:3", haby, "hot_lead", operator_id=operator.id)
    await subs.subscribe("tg:3", other, operator_id=operator.id)  # out of scope: ignored
    assert await chats(haby) == ["tg:1", "tg:3"]
    assert await chats(haby, "session_down") == ["tg:1"]
    assert await chats(other) == ["slack:U2", "tg:1"]
    await subs.mute("tg:1", haby, NOW + timedelta(minutes=5))
    assert await chats(haby) == ["tg:3"]
    assert [r.chat_ref for r in await subs.recipients(haby, "x", NOW + timedelta(minutes=5))] == [
        "tg:1"
    ]
    await subs.mute("tg:1", haby, None)
    assert await subs.unsubscribe("tg:3", haby, "hot_lead")
    assert not await subs.unsubscribe("tg:3", haby, "hot_lead")
    assert await chats(haby) == ["tg:1"]
    langs = [r.language for r in await subs.recipients(haby, "x", NOW, ("tg",))]
    assert langs == ["es"]


async def test_fire_bumps_repeats_and_resolves_once(db: Database) -> None:
    haby, _ = await _setup(db)
    await AlertSubscriptionRepo(db).set_reachable("tg:1")
    alerts, outbox = AlertRepo(db), OutboxRepo(db)
    down = NewAlert(haby, None, "session_down", "session:1", "lost")

    first = await alerts.fire(down, NOW, repeat_s=1800, render=render)
    assert (first.notice, first.deliveries) == (Notice.NEW, 1)
    bump = await alerts.fire(down, NOW + timedelta(minutes=1), repeat_s=1800, render=render)
    assert (bump.notice, bump.alert.occurrences) == (None, 2)
    calm = NewAlert(haby, None, "session_logged_out", "session:1", "unpaired")
    kept = await alerts.fire(calm, NOW, repeat_s=1800, render=render, escalate=False)
    assert (kept.notice, kept.alert.kind) == (None, "session_down")
    escalated = await alerts.fire(calm, NOW, repeat_s=1800, render=render)
    assert (escalated.notice, escalated.alert.kind) == (Notice.ESCALATED, "session_logged_out")
    later = NOW + timedelta(minutes=30)
    assert (
        await alerts.repeat_due(later, repeat_s=1800, kinds=["session_logged_out"], render=render)
        == 1
    )
    assert (
        await alerts.repeat_due(later, repeat_s=1800, kinds=["session_logged_out"], render=render)
        == 0
    )
    assert [a.dedupe_key for a in await alerts.firing([haby])] == ["session:1"]

    resolved = await alerts.resolve("session:1", later, render=render)
    assert resolved is not None and resolved.state is AlertState.RESOLVED
    assert await alerts.resolve("session:1", later, render=render) is None
    assert await alerts.firing() == []
    texts = [d.content.text for d in await outbox.of_chat("tg:1")]
    assert texts == [
        "new session_down x1 es",
        "escalated session_logged_out x4 es",
        "repeat session_logged_out x4 es",
        "resolved session_logged_out x4 es",
    ]


async def test_one_shot_alerts_are_deduplicated_within_the_repeat_interval(db: Database) -> None:
    haby, _ = await _setup(db)
    await AlertSubscriptionRepo(db).set_reachable("tg:1")
    alerts = AlertRepo(db)
    lead = NewAlert(haby, None, "hot_lead", "hot_lead:1:549", "+549", one_shot=True)
    notices = [
        (await alerts.fire(lead, NOW + timedelta(minutes=m), repeat_s=1800, render=render)).notice
        for m in (0, 10, 29, 60)
    ]
    assert notices == [Notice.NEW, None, None, Notice.NEW]
    assert await alerts.firing() == []


async def test_the_outbox_hands_out_the_oldest_message_of_each_chat(db: Database) -> None:
    outbox = OutboxRepo(db)
    await outbox.enqueue("tg:1", [Content("a1"), Content("a2")], NOW)
    await outbox.enqueue("tg:2", [Content("b1")], NOW)
    heads = await outbox.heads()
    assert [h.content.text for h in heads] == ["a1", "b1"]
    await outbox.reschedule(heads[0].id, "502", NOW + timedelta(seconds=10))
    await outbox.mark_sent(heads[1].id, NOW)
    (head,) = await outbox.heads()
    assert (head.content.text, head.attempts, head.next_attempt_at) == (
        "a1",
        1,
        NOW + timedelta(seconds=10),
    )
    await outbox.mark_failed(head.id, "blocked")
    assert [h.content.text for h in await outbox.heads()] == ["a2"]
    assert await outbox.purge_sent(NOW + timedelta(seconds=1)) == 1
