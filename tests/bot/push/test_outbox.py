"""The outbox: nothing lost while a platform is down or across a restart, order kept, nothing
twice, pacing per chat, long texts split or sent as a file."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from sqlalchemy import text

from bot.admin_channels import AdminChannels
from bot.push.channel import Button, Outgoing
from engine.clock import VirtualClock
from engine.events import HandoffRequested, HotLeadDetected
from storage.db import Database
from storage.records import AuditResult, DeliveryStatus, Role, SessionState
from storage.repos import AuditRepo, OperatorRepo
from storage.repos.outbox import OutboxRepo
from tests.bot.push.conftest import ADMIN_HABY, OPERATOR_HABY, OWNER, START, AlertWorld
from tests.bot.push.fakes import RecordingChannel


async def _raise_three(world: AlertWorld) -> None:
    await world.bus.publish(HotLeadDetected(world.ref, 1, "5491111111111", "quiero comprar"))
    await world.bus.publish(HandoffRequested(world.ref, 2, "5492222222222", "un humano"))
    await world.state(SessionState.CONNECTED, SessionState.LOGGED_OUT, "unpaired")


async def test_alerts_raised_while_the_platform_is_down_arrive_in_order_once(
    world: AlertWorld,
) -> None:
    world.telegram.unavailable = world.slack.unavailable = True
    await _raise_three(world)
    await world.router.run_until_idle()
    assert world.telegram.sent == [] and world.slack.sent == []
    attempts = world.telegram.attempts
    assert attempts == 1, "one attempt, then the whole platform waits for its retry"

    await world.wait(3)
    assert world.telegram.attempts == attempts, "nothing before the backoff"
    world.telegram.unavailable = world.slack.unavailable = False
    await world.wait(600)
    expected = ["hot lead +5491111111111", "«un humano» asks", "WhatsApp was logged out"]
    got = world.texts(ADMIN_HABY)
    assert len(got) == 3
    assert all(want in text for want, text in zip(expected, got, strict=True))
    assert len(world.texts(OWNER)) == 3
    await world.wait(3600)
    assert len(world.texts(ADMIN_HABY)) == 3, "none twice"


async def test_a_restart_resumes_the_outbox_where_it_stopped(world: AlertWorld) -> None:
    world.telegram.unavailable = world.slack.unavailable = True
    await _raise_three(world)
    await world.router.run_until_idle()

    # The process restarts: a new router over the same database, platforms are back.
    telegram = RecordingChannel(world.clock)
    slack = RecordingChannel(world.clock, prefix="slack", text_limit=3000)
    router = AdminChannels(world.db, [telegram, slack], clock=world.clock)
    world.clock.advance(900)
    await router.run_until_idle()
    await router.run_until_idle()
    admin = slack.texts(ADMIN_HABY.partition(":")[2])
    assert [("hot lead" in admin[0]), ("asks" in admin[1]), ("logged out" in admin[2])] == [
        True
    ] * 3
    assert len(admin) == 3
    assert len(telegram.texts(OWNER.partition(":")[2])) == 3
    assert world.slack.sent == []


async def test_a_chat_waits_behind_its_own_failed_message(world: AlertWorld) -> None:
    await world.router.send(ADMIN_HABY, Outgoing("one"))
    world.slack.unavailable = True
    await world.router.run_until_idle()
    world.slack.unavailable = False
    await world.router.send(ADMIN_HABY, Outgoing("two"))
    await world.router.run_until_idle()
    assert world.texts(ADMIN_HABY) == [], "'two' does not overtake 'one'"
    world.clock.advance(60)
    await world.router.run_until_idle()
    assert world.texts(ADMIN_HABY) == ["one", "two"]


async def test_a_refused_message_is_not_retried_and_does_not_block(world: AlertWorld) -> None:
    world.telegram.rejected_chats.add("1")
    await world.router.send(OWNER, Outgoing("blocked"))
    await world.router.send(OWNER, Outgoing("after"))
    await world.router.run_until_idle()
    assert world.texts(OWNER) == []
    statuses = [d.status for d in await OutboxRepo(world.db).of_chat(OWNER)]
    assert statuses == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]


async def test_a_poison_message_is_dead_lettered_and_holds_nothing(world: AlertWorld) -> None:
    """An adapter that raises on one message gives up on it after a few attempts and records
    why; meanwhile the other chats of its platform go on at once, and its own chat soon."""
    outcomes: list[str] = []
    world.router.on_outcome = outcomes.append
    world.telegram.markup = True
    await world.router.send(OWNER, Outgoing("Ana wrote: [/]"))
    await world.router.send(OWNER, Outgoing("after"))
    await world.router.send(OPERATOR_HABY, Outgoing("other chat"))
    await world.router.run_until_idle()
    assert world.texts(OPERATOR_HABY) == ["other chat"], "the platform is not held"
    for _ in range(4):
        await world.wait(30)
    assert world.texts(OWNER) == ["after"], "its chat goes on once it is given up"
    poison, after = await OutboxRepo(world.db).of_chat(OWNER)
    assert (poison.status, poison.attempts, after.status) == (
        DeliveryStatus.DEAD,
        3,
        DeliveryStatus.SENT,
    )
    assert poison.last_error is not None and "MarkupError" in poison.last_error
    assert outcomes.count("dead") == 1 and outcomes.count("sent") == 2
    entry = (await AuditRepo(world.db).recent(1))[0]
    assert entry.result is AuditResult.ERROR and OWNER in entry.args
    assert entry.detail is not None and "MarkupError" in entry.detail
    tried = world.telegram.attempts
    await world.wait(24 * 3600)
    assert world.telegram.attempts == tried, "a dead letter is never tried again"


async def test_a_long_outage_loses_nothing(world: AlertWorld) -> None:
    """Attempts against a platform that is down are bounded too, but far beyond an outage."""
    world.slack.unavailable = True
    await world.router.send(ADMIN_HABY, Outgoing("during the outage"))
    for _ in range(12):  # three hours: the backoff reaches its 15-minute cap
        await world.wait(900)
    world.slack.unavailable = False
    await world.wait(900)
    assert world.texts(ADMIN_HABY) == ["during the outage"]


async def test_attempts_at_a_platform_that_stays_down_are_bounded(world: AlertWorld) -> None:
    router = AdminChannels(world.db, [world.slack], clock=world.clock, max_attempts=3)
    world.slack.unavailable = True
    await router.send(ADMIN_HABY, Outgoing("first"))
    await router.send(ADMIN_HABY, Outgoing("second"))
    for _ in range(3):
        await router.run_until_idle()
        world.clock.advance(900)
    first, second = await OutboxRepo(world.db).of_chat(ADMIN_HABY)
    assert (first.status, first.attempts) == (DeliveryStatus.DEAD, 3)
    assert first.last_error is not None and "502 Bad Gateway" in first.last_error
    assert second.status is DeliveryStatus.PENDING, "only the one that was tried gives up"


async def test_the_outbox_checks_at_send_time_that_someone_allowed_has_the_chat(
    world: AlertWorld,
) -> None:
    """What was queued for someone who lost access is not delivered, even when the change
    reached the database behind the repositories (a removal racing the delivery loop)."""
    outcomes: list[str] = []
    world.router.on_outcome = outcomes.append
    world.telegram.unavailable = world.slack.unavailable = True
    await world.bus.publish(HotLeadDetected(world.ref, 1, "5491111111111", "quiero comprar"))
    await world.router.send(OPERATOR_HABY, Outgoing("for tg:3"))
    await world.router.run_until_idle()
    async with world.db.engine.begin() as connection:
        # slack:UA is no longer scoped to haby (an empty scope used to mean every client)...
        await connection.execute(text("DELETE FROM operator_clients"))
        # ...and tg:3 is gone.
        await connection.execute(text("DELETE FROM operators WHERE platform_id = 'tg:3'"))
    world.telegram.unavailable = world.slack.unavailable = False
    await world.wait(900)
    assert world.texts(ADMIN_HABY) == [] and world.texts(OPERATOR_HABY) == []
    assert len(world.texts(OWNER)) == 1, "the owner still sees haby"
    for chat in (ADMIN_HABY, OPERATOR_HABY):
        [cancelled] = await OutboxRepo(world.db).of_chat(chat)
        assert cancelled.status is DeliveryStatus.CANCELLED and cancelled.last_error
    assert outcomes.count("cancelled") == 2


async def test_removing_an_operator_cancels_what_waits_for_them(world: AlertWorld) -> None:
    world.slack.unavailable = True
    await world.router.send(ADMIN_HABY, Outgoing("one"))
    await world.router.send(ADMIN_HABY, Outgoing("two"))
    await world.router.run_until_idle()
    await OperatorRepo(world.db).remove(ADMIN_HABY)
    world.slack.unavailable = False
    await world.wait(900)
    assert world.texts(ADMIN_HABY) == []
    statuses = [d.status for d in await OutboxRepo(world.db).of_chat(ADMIN_HABY)]
    assert statuses == [DeliveryStatus.CANCELLED] * 2
    await OperatorRepo(world.db).add(ADMIN_HABY, Role.ADMIN, ["haby"])
    await world.wait(900)
    assert world.texts(ADMIN_HABY) == [], "coming back does not revive what was cancelled"


async def _viewers(db: Database, *chats: str) -> None:
    """People the outbox may write to: it delivers only to operators' chats."""
    for chat in chats:
        await OperatorRepo(db).add(chat, Role.VIEWER)


async def test_one_chat_never_gets_messages_faster_than_its_platform_allows(db: Database) -> None:
    await _viewers(db, "tg:1", "tg:2")
    clock = VirtualClock(START)
    telegram = RecordingChannel(clock, min_interval_s=1.0)
    router = AdminChannels(db, [telegram], clock=clock)
    for n in range(3):
        await router.send("tg:1", Outgoing(f"a{n}"))
        await router.send("tg:2", Outgoing(f"b{n}"))
    await router.run_until_idle()
    for chat in ("1", "2"):
        mine = [s for s in telegram.sent if s.chat == chat]
        assert [s.message.text[1:] for s in mine] == ["0", "1", "2"], "in order"
        assert [b.at - a.at for a, b in pairwise(mine)] == [timedelta(seconds=1)] * 2
    assert clock.now() == START + timedelta(seconds=2), "two chats paced side by side"


async def test_long_texts_are_split_or_sent_as_a_file(db: Database) -> None:
    await _viewers(db, "tg:1")
    clock = VirtualClock(START)
    telegram = RecordingChannel(clock, text_limit=100)
    router = AdminChannels(db, [telegram], clock=clock)
    lines = "\n".join(f"line {n:03d} " + "x" * 40 for n in range(6))
    button = Button("Pair again", "/pair haby main")
    assert await router.send("tg:1", Outgoing(lines, buttons=(button,))) == 3
    many = "\n".join(f"line {n:03d} " + "x" * 40 for n in range(40))
    assert await router.send("tg:1", Outgoing(many), file_caption="as a file") == 1
    await router.run_until_idle()
    first, second, third, file = (s.message for s in telegram.sent)
    assert "\n".join((first.text, second.text, third.text)) == lines
    assert (first.buttons, third.buttons) == ((), (button,))
    assert file.file_data == many.encode() and file.text == "as a file"
    assert router.pack("slack:C1", Outgoing("no slack channel here")) == []
