"""The dispatcher's limits for strangers: one refusal per chat per window, a budget, counts."""

from __future__ import annotations

from bot.commands.parsing import parse_request
from bot.commands.strangers import STRANGER_REFUSAL_BURST, STRANGER_WINDOW_S
from storage.records import AuditResult
from tests.bot.commands.recording import RecordingReply
from tests.bot.commands.world import OWNER, STRANGER, World

REFUSAL = "You are not allowed to use this bot. (Your id: {actor})"


async def _write(world: World, actor: str, chat: str, text: str = "/help") -> RecordingReply:
    request = parse_request(text, actor=actor, platform="telegram", channel=chat)
    assert request is not None
    reply = RecordingReply()
    await world.dispatcher.dispatch(request, reply)
    return reply


async def test_a_stranger_is_refused_again_once_the_window_is_over(world: World) -> None:
    for _ in range(3):
        await world.run(STRANGER, "/help")
    world.clock.advance(STRANGER_WINDOW_S - 1)
    assert (await world.run(STRANGER, "/help")).texts == []

    world.clock.advance(1)
    again = await world.run(STRANGER, "/sessions")
    assert again.texts == [REFUSAL.format(actor=STRANGER)]
    entries = await world.audit()
    assert [(e.command, e.result, e.detail) for e in entries] == [
        ("help", AuditResult.DENIED, "unknown user; 3 more attempt(s) within 600 s"),
        ("sessions", AuditResult.DENIED, "unknown user"),
    ]


async def test_refusals_beyond_the_budget_are_dropped_and_counted(world: World) -> None:
    crowd = [f"tg:{7000 + i}" for i in range(STRANGER_REFUSAL_BURST + 3)]
    replies = [await _write(world, actor, actor.removeprefix("tg:")) for actor in crowd]
    answered = [r for r in replies if r.texts]
    assert len(answered) == STRANGER_REFUSAL_BURST
    gate = world.dispatcher.strangers
    assert (gate.counts.refused, gate.counts.dropped) == (STRANGER_REFUSAL_BURST, 3)
    assert len(await world.audit()) == len(crowd), "each stranger is still audited"

    operator = await world.run(OWNER, "/whoami")
    assert operator.texts and "tg:1" in operator.texts[0], "operators have no such budget"

    world.clock.advance(1)  # one refusal a second comes back
    late = await _write(world, "tg:7100", "7100")
    assert late.texts == [REFUSAL.format(actor="tg:7100")]
    assert (await _write(world, "tg:7101", "7101")).texts == []


async def test_one_refusal_per_chat_whoever_the_stranger(world: World) -> None:
    first = await _write(world, "tg:801", "-100")
    second = await _write(world, "tg:802", "-100")
    assert first.texts == [REFUSAL.format(actor="tg:801")]
    assert second.texts == []
    assert [e.actor for e in await world.audit()] == ["tg:801", "tg:802"]


async def test_flush_writes_the_counts_of_open_windows(world: World) -> None:
    for _ in range(4):
        await world.run(STRANGER, "/help")
    await world.dispatcher.strangers.flush()
    await world.run(STRANGER, "/help")
    await world.dispatcher.strangers.flush()
    [entry] = await world.audit()
    assert entry.detail == "unknown user; 4 more attempt(s) within 600 s"
