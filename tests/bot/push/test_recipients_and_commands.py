"""Who hears what: owners and admins by scope, subscribers, mutes, /start reachability; the
/alerts, /digest and /forward commands; AI failures, leads and campaigns as alerts."""

from __future__ import annotations

from dataclasses import replace

from bot.commands.alerts import AlertCommands
from bot.commands.dispatcher import Dispatcher
from bot.commands.identity import IdentityCommands
from bot.commands.parsing import parse_request
from bot.commands.registry import CommandRegistry
from bot.push.digests import Digests
from engine.digests import DigestBuilder
from engine.events import AIFailed, CampaignStatusChanged, HotLeadDetected
from storage.records import CampaignStatus, Direction, NewMessage, Origin
from storage.repos import AuditRepo, CampaignRepo, ContactRepo, MessageRepo, OperatorRepo
from tests.bot.commands.recording import RecordingReply
from tests.bot.push.conftest import (
    ADMIN_HABY,
    OPERATOR_HABY,
    OWNER,
    OWNER_NO_START,
    VIEWER,
    AlertWorld,
)


def _dispatcher(world: AlertWorld) -> Dispatcher:
    digests = Digests(world.db, world.router, DigestBuilder(world.db), world.clock)
    commands = AlertCommands(world.db, world.router, world.alerts, digests, clock=world.clock)
    registry = CommandRegistry()
    operators = OperatorRepo(world.db)
    registry.extend(IdentityCommands(registry, operators, on_start=commands.on_start).commands())
    registry.extend(commands.commands())
    return Dispatcher(
        registry, operators, AuditRepo(world.db), default_language="en", clock=world.clock
    )


async def _run(world: AlertWorld, actor: str, text: str, channel: str = "") -> RecordingReply:
    reply = RecordingReply()
    platform = "slack" if actor.startswith("slack:") else "telegram"
    request = parse_request(text, actor=actor, platform=platform, channel=channel or actor[3:])
    assert request is not None
    await _dispatcher(world).dispatch(request, reply)
    return reply


async def _hot_lead(world: AlertWorld, phone: str = "5491111111111") -> None:
    await world.bus.publish(HotLeadDetected(world.ref, 1, phone, "lo compro"))
    await world.router.run_until_idle()


async def test_subscriptions_mutes_and_start_decide_who_hears(world: AlertWorld) -> None:
    await _hot_lead(world)
    heard = {
        c for c in (OWNER, ADMIN_HABY, OPERATOR_HABY, VIEWER, OWNER_NO_START) if world.texts(c)
    }
    assert heard == {OWNER, ADMIN_HABY}

    assert (
        "receive all alerts"
        not in (await _run(world, OPERATOR_HABY, "/alerts subscribe haby hot_lead")).said
    )
    assert "every alert" in (await _run(world, ADMIN_HABY, "/alerts subscribe haby")).said
    assert "Unknown alert kind" in (await _run(world, VIEWER, "/alerts subscribe haby nope")).said
    await _run(world, VIEWER, "/alerts subscribe haby")
    muted = await _run(world, OWNER, "/alerts mute haby 30")
    assert "silenciadas en este chat hasta 02/11 12:30" in muted.said
    assert "access" in (await _run(world, OPERATOR_HABY, "/alerts mute marketing 5")).said
    started = await _run(world, OWNER_NO_START, "/start")
    assert "From now on I can send you alerts" in started.said

    await _hot_lead(world, "5492222222222")
    heard = {
        c
        for c in (OWNER, ADMIN_HABY, OPERATOR_HABY, VIEWER, OWNER_NO_START)
        if len(world.texts(c)) > (1 if c in (OWNER, ADMIN_HABY) else 0)
    }
    assert heard == {ADMIN_HABY, OPERATOR_HABY, VIEWER, OWNER_NO_START}

    world.clock.advance(31 * 60)
    await _run(world, VIEWER, "/alerts unsubscribe haby")
    await _run(world, OPERATOR_HABY, "/alerts subscribe haby session_down")
    await _hot_lead(world, "5493333333333")
    assert len(world.texts(OWNER)) == 2, "the mute is over"
    assert len(world.texts(VIEWER)) == 1, "unsubscribed"
    assert len(world.texts(OPERATOR_HABY)) == 2, "still subscribed to hot_lead"


async def test_alerts_lists_what_fires_for_the_callers_clients(world: AlertWorld) -> None:
    assert "Nothing is firing" in (await _run(world, ADMIN_HABY, "/alerts")).said
    await world.drop()
    await world.wait(61)
    listing = (await _run(world, ADMIN_HABY, "/alerts")).said
    assert "Firing now (1):" in listing
    assert (
        "haby/main: WhatsApp is disconnected (connection lost). (since 02/11 12:01 UTC, 1×)"
        in listing
    )
    await _run(world, ADMIN_HABY, "/alerts mute haby 10")
    assert "Muted here: haby." in (await _run(world, ADMIN_HABY, "/alerts")).said
    hint = (await _run(world, OPERATOR_HABY, "/alerts", channel="-100")).said
    assert "send /start to me" not in hint, "tg:3 said /start"
    assert "send /start to me" in (await _run(world, OWNER_NO_START, "/alerts")).said


async def test_digest_and_forward_commands(world: AlertWorld) -> None:
    contact = await ContactRepo(world.db).ensure(world.haby_id, "5491111111111", name="Ana")
    messages = MessageRepo(world.db)
    for n, (body, inbound) in enumerate((("hola", True), ("¡Hola Ana!", False))):
        await messages.add(
            NewMessage(
                world.haby_id,
                contact.id,
                Direction.IN if inbound else Direction.OUT,
                Origin.CONTACT if inbound else Origin.AI,
                body,
                world.clock.now().replace(hour=10 + n),
            )
        )
    digest = await _run(world, VIEWER, "/digest haby 24")
    assert digest.images and digest.images[0][0].startswith(b"\x89PNG")
    assert "Conversations: 1 (new 1)" in digest.said
    assert "not a number of hours" in (await _run(world, VIEWER, "/digest haby x")).said

    forwarded = await _run(world, ADMIN_HABY, "/forward haby +54 9 11 1111-1111")
    assert "Sent the chat with +5491111111111 to your private chat." in forwarded.said
    await world.router.run_until_idle()
    (chat,) = world.texts(ADMIN_HABY)
    assert chat.splitlines() == [
        "Chat with +5491111111111 (Ana) (haby), last 2 messages:",
        "02/11 07:00 ← hola",
        "02/11 08:00 → [ai] ¡Hola Ana!",
    ]


async def test_ai_failures_are_one_alert_per_client_until_quiet(world: AlertWorld) -> None:
    for n in range(5):
        await world.bus.publish(
            AIFailed(world.ref, n, f"54911{n:08d}", "unavailable", "timeout", True)
        )
        await world.wait(60)
    (alert,) = await world.alerts.repo.firing()
    assert (alert.kind, alert.occurrences) == ("ai_failing", 5)
    assert world.texts(ADMIN_HABY) == [
        "⚠️ haby: AI replies are failing (unavailable: timeout); 1 so far."
    ]
    await world.wait(900)
    assert world.texts(ADMIN_HABY)[-1].startswith("✅ haby: no more AI failures")
    assert await world.alerts.repo.firing() == []


async def test_campaigns_started_auto_paused_resumed_and_finished(world: AlertWorld) -> None:
    campaign = await CampaignRepo(world.db).create(
        world.haby_id, world.main.id, "Promo", "Hola", {"all": True}
    )

    async def change(old: CampaignStatus, new: CampaignStatus, reason: str | None = None) -> None:
        moved = replace(campaign, status=new, status_reason=reason)
        await world.bus.publish(CampaignStatusChanged(moved, old, reason))

    await change(CampaignStatus.DRAFT, CampaignStatus.RUNNING)
    await change(CampaignStatus.RUNNING, CampaignStatus.PAUSED, "auto: the number is disconnected")
    await change(CampaignStatus.PAUSED, CampaignStatus.RUNNING)
    await change(CampaignStatus.RUNNING, CampaignStatus.PAUSED, "paused by tg:1")
    await change(CampaignStatus.PAUSED, CampaignStatus.RUNNING)
    await change(CampaignStatus.RUNNING, CampaignStatus.COMPLETED)
    await world.router.run_until_idle()
    promo = f"«Promo» (#{campaign.id})"
    assert world.texts(ADMIN_HABY) == [
        f"⚠️ haby/main: campaign {promo} started.",
        f"⚠️ haby/main: campaign {promo}: the number is disconnected — paused automatically.",
        f"✅ haby/main: campaign {promo} resumed.\nIt lasted 1 min.",
        f"⚠️ haby/main: campaign {promo} finished.",
    ]
