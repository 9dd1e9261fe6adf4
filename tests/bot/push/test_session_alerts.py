"""Session trouble: grace period, flapping, logout with a pair button, resolved once."""

from __future__ import annotations

from bot.push.alert_rules import AlertRules
from bot.push.channel import Button
from engine.events import QrExpired
from storage.records import SessionState
from storage.repos import SessionRepo
from tests.bot.push.conftest import ADMIN_HABY, OPERATOR_HABY, OWNER, OWNER_NO_START, AlertWorld


async def test_a_drop_longer_than_grace_alerts_once_and_restore_resolves_once(
    world: AlertWorld,
) -> None:
    await world.drop()
    await world.wait(59)
    assert world.telegram.sent == [] and world.slack.sent == []

    await world.wait(2)
    await world.state(SessionState.DISCONNECTED, SessionState.RECONNECTING, "retry in 2.0 s")
    await world.wait(30)
    assert world.texts(OWNER) == ["⚠️ haby/main: WhatsApp está desconectado (connection lost)."]
    assert world.texts(ADMIN_HABY) == ["⚠️ haby/main: WhatsApp is disconnected (connection lost)."]
    assert world.texts(OPERATOR_HABY) == [], "operators only get what they subscribe to"
    assert world.texts(OWNER_NO_START) == [], "a Telegram user who never said /start"
    assert [a.kind for a in await world.alerts.repo.firing()] == ["session_down"]

    await world.restore()
    await world.wait(120)
    await world.wait(3600)
    assert world.texts(ADMIN_HABY)[1:] == [
        "✅ haby/main: WhatsApp is connected again.\nIt lasted 2 min."
    ]
    assert len(world.texts(OWNER)) == 2
    assert await world.alerts.repo.firing() == []


async def test_a_drop_shorter_than_grace_says_nothing(world: AlertWorld) -> None:
    await world.drop()
    await world.wait(40)
    await world.restore()
    await world.wait(3600)
    assert world.telegram.sent == [] and world.slack.sent == []
    assert await world.alerts.repo.firing() == []


async def test_a_flapping_session_is_one_alert(world: AlertWorld) -> None:
    for _ in range(4):  # long drops: each would alert on its own
        await world.drop()
        await world.wait(90)
        await world.restore()
        await world.wait(20)
    await world.wait(60)
    assert world.texts(ADMIN_HABY) == [
        "⚠️ haby/main: WhatsApp is disconnected (connection lost).",
        "✅ haby/main: WhatsApp is connected again.\nIt lasted 7 min.",
    ]
    assert await world.alerts.repo.firing() == []


async def test_short_frequent_drops_are_one_flapping_alert(world: AlertWorld) -> None:
    for _ in range(5):
        await world.drop()
        await world.wait(5)
        await world.restore()
        await world.wait(5)
    (alert,) = await world.alerts.repo.firing()
    assert alert.kind == "session_flapping"
    assert alert.occurrences == 3, "the third drop raised it, two more were counted"
    await world.wait(61)
    assert world.texts(ADMIN_HABY) == [
        "⚠️ haby/main: WhatsApp keeps disconnecting (3 drops in a row).",
        "✅ haby/main: WhatsApp is connected and stable again.\nIt lasted 2 min.",
    ]


async def test_logout_alerts_at_once_with_a_pair_button(world: AlertWorld) -> None:
    await world.drop()
    await world.wait(10)
    await world.state(
        SessionState.DISCONNECTED, SessionState.LOGGED_OUT, "logged out (by the phone)"
    )
    await world.wait(0)
    (sent,) = [s for s in world.slack.sent]
    assert sent.message.text == (
        "⚠️ haby/main: WhatsApp was logged out (logged out (by the phone)). "
        "Pair it again with a new QR."
    )
    assert sent.message.buttons == (Button("Pair again", "/pair haby main"),)
    (owner,) = world.telegram.sent
    assert owner.message.buttons == (Button("Vincular de nuevo", "/pair haby main"),)
    await world.wait(600)
    assert len(world.slack.sent) == 1, "the grace timer of the drop was cancelled"


async def test_down_then_logged_out_escalates_the_same_alert(world: AlertWorld) -> None:
    await world.drop()
    await world.wait(61)
    await world.state(SessionState.RECONNECTING, SessionState.LOGGED_OUT, "unpaired")
    await world.wait(0)
    (alert,) = await world.alerts.repo.firing()
    assert alert.kind == "session_logged_out"
    first, second = world.texts(ADMIN_HABY)
    assert first.startswith("⚠️ haby/main: WhatsApp is disconnected")
    assert second.startswith("⚠️ haby/main: WhatsApp was logged out (unpaired)")
    await world.state(SessionState.QR_PENDING, SessionState.CONNECTED)
    await world.wait(61)
    assert world.texts(ADMIN_HABY)[-1].startswith("✅ haby/main: WhatsApp is paired")


async def test_still_firing_alerts_repeat_at_the_interval_and_bans_do_not(
    world: AlertWorld,
) -> None:
    await world.state(SessionState.CONNECTED, SessionState.FAILED, "browser crashed 5 times")
    await world.wait(0)
    assert await world.alerts.repeat_due() == 0
    world.clock.advance(1799)
    assert await world.alerts.repeat_due() == 0
    world.clock.advance(1)
    assert await world.alerts.repeat_due() == 1
    await world.router.run_until_idle()
    repeat = world.texts(ADMIN_HABY)[-1]
    assert repeat.startswith("⏰ haby/main: the browser kept crashing")
    assert repeat.endswith("Still the case since 09:00 (1 times).")
    assert world.texts(ADMIN_HABY)[0].startswith("⚠️")

    await world.state(SessionState.FAILED, SessionState.BANNED, "banned")
    world.clock.advance(3600)
    assert await world.alerts.repeat_due() == 0, "a ban is final: told once"


async def test_an_expired_qr_offers_to_pair_again(world: AlertWorld) -> None:
    await world.bus.publish(QrExpired(world.ref))
    await world.bus.publish(QrExpired(world.ref))
    await world.wait(0)
    (sent,) = world.slack.sent
    assert sent.message.buttons == (Button("Pair again", "/pair haby main"),)


async def test_a_conflict_alerts_at_once_offers_a_take_over_and_resolves_once(
    world: AlertWorld,
) -> None:
    await world.state(SessionState.CONNECTED, SessionState.CONFLICT, "open in another window")
    await world.wait(0)
    (sent,) = world.slack.sent
    assert sent.message.text == (
        "⚠️ haby/main: WhatsApp is open in another window, so this number does not answer "
        "here. Take it over to use it here (that window loses it), or leave it."
    )
    assert sent.message.buttons == (Button("Use it here", "/usehere haby main"),)
    (owner,) = world.telegram.sent
    assert owner.message.buttons == (Button("Usarlo acá", "/usehere haby main"),)
    (alert,) = await world.alerts.repo.firing()
    assert alert.kind == "session_conflict"

    world.clock.advance(3600)
    assert await world.alerts.repeat_due() == 0, "leaving it is a choice: told once"
    await world.state(SessionState.CONFLICT, SessionState.CONNECTED)
    await world.wait(61)
    assert world.texts(ADMIN_HABY)[-1] == (
        "✅ haby/main: WhatsApp is in use here again and connected.\nIt lasted 61 min."
    )
    assert await world.alerts.repo.firing() == []


async def _new_bot(world: AlertWorld) -> AlertRules:
    """The alert rules of a `waops bot` that just became the active one (issue 17): they heard
    none of the events before, and start from the stored states."""
    await world.rules.stop()
    rules = AlertRules(world.db, world.bus, world.alerts, world.clock)
    await rules.start()
    world.rules = rules
    await rules.resume(await SessionRepo(world.db).list())
    return rules


async def test_a_bot_taking_over_mid_grace_alerts_when_the_grace_is_over(
    world: AlertWorld,
) -> None:
    went_down = world.clock.now()
    await SessionRepo(world.db).set_state(
        world.main.id, SessionState.DISCONNECTED, "connection lost", at=went_down
    )
    await world.drop()  # heard by the bot that dies now, 40 s into the grace
    await world.wait(40)
    await _new_bot(world)
    await world.wait(19)
    assert world.texts(ADMIN_HABY) == [], "the grace counts from the drop, not the take-over"
    await world.wait(2)
    assert world.texts(ADMIN_HABY) == ["⚠️ haby/main: WhatsApp is disconnected (connection lost)."]
    await world.drop()  # the same drop, replayed from the event log: nothing new
    await world.wait(600)
    assert len(world.texts(ADMIN_HABY)) == 1
    await world.restore()
    await world.wait(3600)
    assert world.texts(ADMIN_HABY)[1].startswith("✅ haby/main: WhatsApp is connected again.")
    assert await world.alerts.repo.firing() == []


async def test_a_bot_taking_over_tells_nothing_twice_and_what_was_missed_once(
    world: AlertWorld,
) -> None:
    sessions = SessionRepo(world.db)
    await sessions.set_state(world.main.id, SessionState.DISCONNECTED, "connection lost")
    await world.drop()
    await world.wait(61)  # told by the first bot
    await _new_bot(world)
    await world.wait(600)
    assert len(world.texts(ADMIN_HABY)) == 1, "told once, by the first bot"

    # Logged out while no bot was active: the new one tells it at once, with its reason.
    await sessions.set_state(world.main.id, SessionState.LOGGED_OUT, "logged out (by the phone)")
    await _new_bot(world)
    await world.wait(1)
    assert len(world.texts(ADMIN_HABY)) == 2 and "haby/main" in world.texts(ADMIN_HABY)[1]
    await _new_bot(world)  # and again: still the same alert
    await world.wait(1)
    assert len(world.texts(ADMIN_HABY)) == 2

    # Connected again by the time the next bot starts: the alert settles and resolves once.
    await sessions.set_state(world.main.id, SessionState.CONNECTED)
    await _new_bot(world)
    await world.wait(3600)
    assert world.texts(ADMIN_HABY)[2].startswith("✅ haby/main")
    assert await world.alerts.repo.firing() == []
