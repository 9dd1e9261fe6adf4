"""Destructive commands wait for a confirm button bound to the proposer, expiring, single use."""

from __future__ import annotations

import asyncio

from bot.commands.confirmations import ConfirmOutcome
from storage.records import AuditResult, Role
from tests.bot.commands.recording import RecordingReply
from tests.bot.commands.world import ADMIN, OWNER, STRANGER, VIEWER, World


async def _propose_removal(world: World, proposer: str = OWNER, target: str = VIEWER) -> str:
    reply = await world.run(proposer, f"/operator remove {target}")
    [prompt] = reply.prompts
    assert reply.texts == []
    return prompt.token


async def test_proposal_shows_what_will_happen_and_waits(world: World) -> None:
    reply = await world.run(OWNER, "/operator remove tg:4")
    [prompt] = reply.prompts
    assert prompt.text == "Remove operator tg:4 (viewer, all clients)? They lose all access."
    assert (prompt.confirm_label, prompt.cancel_label) == ("Confirm", "Cancel")
    assert len(prompt.token) >= 16
    assert await world.role_of(VIEWER) is Role.VIEWER


async def test_only_the_proposer_can_confirm_and_only_once(world: World) -> None:
    token = await _propose_removal(world)
    outcome, other = await world.press(ADMIN, token)
    assert outcome is ConfirmOutcome.NOT_YOURS
    assert other.texts == ["Only the person who asked for this can confirm it."]
    outcome, stranger = await world.press(STRANGER, token)
    assert outcome is ConfirmOutcome.DENIED and "not allowed" in stranger.said
    assert await world.role_of(VIEWER) is Role.VIEWER, "nothing happened"

    outcome, mine = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.DONE
    assert mine.texts == ["tg:4 no longer has access."]
    assert await world.role_of(VIEWER) is None

    outcome, again = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.UNKNOWN
    assert again.texts == ["This confirmation is no longer valid. Run the command again if needed."]
    entries = [(e.actor, e.command, e.result, e.detail) for e in await world.audit()]
    assert entries == [
        (OWNER, "operator remove", AuditResult.PROPOSED, None),
        (
            ADMIN,
            "operator remove",
            AuditResult.DENIED,
            "Only the person who asked for this can confirm it.",
        ),
        (STRANGER, "operator remove", AuditResult.DENIED, "unknown user"),
        (OWNER, "operator remove", AuditResult.OK, "confirmed"),
        (OWNER, "confirm", AuditResult.ERROR, entries[-1][3]),
    ]


async def test_a_double_press_runs_once(world: World) -> None:
    token = await _propose_removal(world)
    outcomes = await asyncio.gather(world.press(OWNER, token), world.press(OWNER, token))
    assert sorted(o for o, _ in outcomes) == [ConfirmOutcome.DONE, ConfirmOutcome.UNKNOWN]


async def test_an_expired_confirmation_asks_to_run_the_command_again(world: World) -> None:
    just_in_time = await _propose_removal(world, target="tg:3")
    token = await _propose_removal(world)
    world.clock.advance(299)
    assert (await world.press(OWNER, just_in_time))[0] is ConfirmOutcome.DONE
    world.clock.advance(1)
    outcome, reply = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.EXPIRED
    assert reply.texts == ["This confirmation expired: run /operator remove again."]
    assert await world.role_of(VIEWER) is Role.VIEWER
    outcome, _ = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.EXPIRED, "still says expired, not unknown"
    world.clock.advance(301)
    await _propose_removal(world)  # proposing prunes what expired long ago
    outcome, _ = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.UNKNOWN


async def test_cancel_drops_the_proposal(world: World) -> None:
    token = await _propose_removal(world)
    outcome, _ = await world.press(ADMIN, token, cancel=True)
    assert outcome is ConfirmOutcome.NOT_YOURS
    outcome, reply = await world.press(OWNER, token, cancel=True)
    assert outcome is ConfirmOutcome.CANCELLED
    assert reply.texts == ["Cancelled, nothing was done."]
    outcome, _ = await world.press(OWNER, token)
    assert outcome is ConfirmOutcome.UNKNOWN
    assert await world.role_of(VIEWER) is Role.VIEWER


async def test_confirming_checks_permissions_again(world: World) -> None:
    token = await _propose_removal(world, proposer=ADMIN)
    await world.run(OWNER, "/operator role tg:2 viewer")
    outcome, reply = await world.press(ADMIN, token)
    assert outcome is ConfirmOutcome.DENIED
    assert reply.texts == ["You need the admin role or higher for operator remove."]
    assert await world.role_of(VIEWER) is Role.VIEWER


async def test_the_confirmed_action_replies_where_the_button_was_pressed(world: World) -> None:
    token = await _propose_removal(world)
    await world.run(OWNER, "/operator add tg:5 owner")
    await world.run(OWNER, "/operator remove tg:5")
    reply = RecordingReply(command_prefix="/waops ")
    outcome = await world.dispatcher.confirm(token, actor=OWNER, platform="slack", reply=reply)
    assert outcome is ConfirmOutcome.DONE and reply.texts == ["tg:4 no longer has access."]
